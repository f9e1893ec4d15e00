"""Analytics screens (mounted at /analytics/)."""

from __future__ import annotations

from django.urls import path

from uptake.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("team/", views.team_dashboard, name="team"),
    path("people/", views.people, name="people"),
    path("people/remind/", views.remind, name="remind"),
    path("compare/", views.compare, name="compare"),
    path("checks/<int:activity_id>/", views.questions, name="questions"),
    path("export/<str:name>.<str:fmt>", views.export, name="export"),
]
