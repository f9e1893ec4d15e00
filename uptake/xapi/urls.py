"""/xapi/: the record store's resources (a trailing slash is optional, as clients differ)."""

from __future__ import annotations

from django.urls import re_path

from uptake.xapi import views

urlpatterns = [
    re_path(r"^statements/?$", views.statements, name="xapi-statements"),
    re_path(r"^activities/state/?$", views.state, name="xapi-state"),
    re_path(r"^activities/profile/?$", views.activity_profile, name="xapi-activity-profile"),
    re_path(r"^activities/?$", views.activities, name="xapi-activities"),
    re_path(r"^agents/profile/?$", views.agent_profile, name="xapi-agent-profile"),
    re_path(r"^agents/?$", views.agents, name="xapi-agents"),
    re_path(r"^about/?$", views.about, name="xapi-about"),
]
