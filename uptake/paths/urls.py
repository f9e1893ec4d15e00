from __future__ import annotations

from django.urls import path

from uptake.paths import views

app_name = "paths"

urlpatterns = [
    path("", views.path_list, name="list"),
    path("mine/", views.my_paths, name="mine"),
    path("mine/section/", views.home_section, name="home_section"),
    path("<int:path_id>/", views.path_edit, name="edit"),
]
