"""Authoring screens (mounted at /authoring/) and the protected activity files."""

from __future__ import annotations

from django.urls import path

from uptake.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.courses, name="courses"),
    path("new/", views.course_new, name="course_new"),
    path("<int:course_id>/", views.course_edit, name="course_edit"),
    path("<int:course_id>/publish/", views.course_publish, name="course_publish"),
    path("<int:course_id>/status/", views.course_status, name="course_status"),
    path("<int:course_id>/modules/", views.module_add, name="module_add"),
    path("modules/<int:module_id>/", views.module_update, name="module_update"),
    path("modules/<int:module_id>/move/", views.module_move, name="module_move"),
    path("modules/<int:module_id>/delete/", views.module_delete, name="module_delete"),
    path("modules/<int:module_id>/activities/", views.activity_add, name="activity_add"),
    path("activities/<int:activity_id>/", views.activity_edit, name="activity_edit"),
    path("activities/<int:activity_id>/move/", views.activity_move, name="activity_move"),
    path("activities/<int:activity_id>/delete/", views.activity_delete, name="activity_delete"),
    path("activities/<int:activity_id>/questions/new/", views.question_new, name="question_new"),
    path("questions/<int:question_id>/", views.question_edit, name="question_edit"),
    path("questions/<int:question_id>/delete/", views.question_delete, name="question_delete"),
    path("preview/", views.markdown_preview, name="markdown_preview"),
    path("files/<int:activity_id>/", views.activity_file, name="activity_file"),
]
