from __future__ import annotations

from django.urls import path

from uptake.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read/", views.mark_read, name="read"),
    path("badge/", views.badge, name="badge"),
]
