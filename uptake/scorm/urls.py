"""SCORM screens (mounted at /scorm/): package files and the package upload."""

from __future__ import annotations

from django.urls import path

from uptake.scorm import views

app_name = "scorm"

urlpatterns = [
    path("content/<int:package_id>/<path:path>", views.content, name="content"),
    path("activities/<int:activity_id>/package/", views.upload, name="upload"),
    path("activities/<int:activity_id>/preview/", views.preview, name="preview"),
]
