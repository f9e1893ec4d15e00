from __future__ import annotations

from django.urls import path

from uptake.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("courses/<int:course_id>/", views.course, name="course"),
    path("courses/<int:course_id>/enrol/", views.enrol, name="enrol"),
    path("learn/<int:enrollment_id>/<int:activity_id>/", views.activity, name="activity"),
    path(
        "learn/<int:enrollment_id>/<int:activity_id>/complete/",
        views.complete,
        name="activity_complete",
    ),
    path(
        "learn/<int:enrollment_id>/<int:activity_id>/submit/",
        views.submit,
        name="activity_submit",
    ),
    path("profile/", views.profile, name="profile"),
    path("team/", views.team, name="team"),
]
