from __future__ import annotations

from django.urls import path

from uptake.assignments import views

app_name = "assignments"

urlpatterns = [
    path("", views.assignment_list, name="list"),
    path("preview/", views.preview, name="preview"),
    path("<int:assignment_id>/deactivate/", views.deactivate, name="deactivate"),
]
