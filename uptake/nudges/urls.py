from __future__ import annotations

from django.urls import path

from uptake.nudges import views

app_name = "nudges"

urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("campaigns/new/", views.campaign_edit, name="campaign_new"),
    path("campaigns/<int:campaign_id>/", views.campaign_edit, name="campaign"),
    path("campaigns/<int:campaign_id>/preview/", views.campaign_preview, name="preview"),
    path("campaigns/<int:campaign_id>/status/", views.campaign_status, name="status"),
    path("campaigns/<int:campaign_id>/message/", views.campaign_message, name="message"),
    path("campaigns/<int:campaign_id>/experiment/", views.experiment_start, name="experiment"),
    path("campaigns/<int:campaign_id>/results/", views.experiment_results, name="results"),
    path("campaigns/<int:campaign_id>/stop/", views.experiment_stop, name="stop"),
    path("log/", views.delivery_log, name="log"),
    path("settings/", views.nudge_settings, name="settings"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<str:name>/", views.outbox, name="outbox_file"),
    path("preferences/", views.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("banner/", views.banner, name="banner"),
    path("team/", views.team, name="team"),
]
