from __future__ import annotations

from django.urls import path

from uptake.enrollment import views

app_name = "enrollment"

urlpatterns = [
    path("", views.enrollment_list, name="list"),
    path("assign/", views.assign, name="assign"),
    path("<int:enrollment_id>/withdraw/", views.withdraw, name="withdraw"),
]
