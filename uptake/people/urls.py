from __future__ import annotations

from django.urls import path

from uptake.people import views

app_name = "people"

urlpatterns = [
    path("", views.people_list, name="list"),
    path("import/", views.import_people, name="import"),
    path("<int:person_id>/", views.person_detail, name="detail"),
    path("<int:person_id>/roles/", views.change_role, name="change_role"),
]
