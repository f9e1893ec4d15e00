"""Audience screens (mounted at /audiences/)."""

from __future__ import annotations

from django.urls import path

from uptake.audiences import views

app_name = "audiences"

urlpatterns = [
    path("", views.audience_list, name="list"),
    path("new/", views.audience_new, name="new"),
    path("preview/", views.builder_preview, name="preview"),
    path("<int:audience_id>/", views.audience_members, name="members"),
    path("<int:audience_id>/edit/", views.audience_edit, name="edit"),
    path("<int:audience_id>/deactivate/", views.audience_deactivate, name="deactivate"),
    path("explain/<int:person_id>/", views.person_explain, name="explain"),
]
