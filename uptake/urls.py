from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from uptake.api import api
from uptake.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("people/", include("uptake.people.urls")),
    path("authoring/", include("uptake.catalog.urls")),
    path("enrolments/", include("uptake.enrollment.urls")),
    path("audiences/", include("uptake.audiences.urls")),
    path("paths/", include("uptake.paths.urls")),
    path("assignments/", include("uptake.assignments.urls")),
    path("notifications/", include("uptake.notifications.urls")),
    path("xapi/", include("uptake.xapi.urls")),
    path("scorm/", include("uptake.scorm.urls")),
    path("cmi5/", include("uptake.cmi5.urls")),
    path("analytics/", include("uptake.analytics.urls")),
    path("nudges/", include("uptake.nudges.urls")),
    path("", include("uptake.web.urls")),
]

if settings.DEBUG:
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]
