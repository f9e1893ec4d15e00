"""cmi5 (mounted at /cmi5/): the fetch URL, package files, launch, return, import."""

from __future__ import annotations

from django.urls import path

from uptake.cmi5 import views

app_name = "cmi5"

urlpatterns = [
    path("fetch/<str:token>", views.fetch, name="fetch"),
    path("content/<int:structure_id>/<path:path>", views.content, name="content"),
    path("launch/<int:enrollment_id>/<int:activity_id>/", views.launch, name="launch"),
    path("return/<int:enrollment_id>/<int:activity_id>/", views.returned, name="returned"),
    path("courses/<int:course_id>/import/", views.import_form, name="import"),
]
