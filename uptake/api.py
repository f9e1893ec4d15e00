"""The HTTP API (django-ninja): mounts each app's router under /api/v1."""

from __future__ import annotations

from ninja import NinjaAPI

from uptake.core import problem
from uptake.identity.auth import SessionAuth, TokenAuth

api = NinjaAPI(
    title="Uptake API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=[TokenAuth(), SessionAuth()],
    description=(
        "Uptake's REST API. Authenticate with `Authorization: Bearer <token>` "
        "(`python manage.py create_token USERNAME`). Errors are RFC 9457 problem+json."
    ),
)
problem.install(api)


def _mount() -> None:
    from uptake.analytics.routes import router as analytics_router
    from uptake.assignments.routes import router as assignments_router
    from uptake.audiences.routes import router as audiences_router
    from uptake.catalog.routes import router as catalog_router
    from uptake.cmi5.routes import router as cmi5_router
    from uptake.enrollment.routes import me_router
    from uptake.enrollment.routes import router as enrollment_router
    from uptake.notifications.routes import router as notifications_router
    from uptake.nudges.routes import router as nudges_router
    from uptake.paths.routes import router as paths_router
    from uptake.people.routes import router as people_router
    from uptake.progress.routes import router as progress_router
    from uptake.scorm.routes import router as scorm_router
    from uptake.xapi.routes import router as xapi_router

    api.add_router("/people", people_router, tags=["people"])
    api.add_router("/courses", catalog_router, tags=["catalogue"])
    api.add_router("/enrollments", enrollment_router, tags=["enrolments"])
    api.add_router("/progress", progress_router, tags=["progress"])
    api.add_router("/me", me_router, tags=["me"])
    api.add_router("/paths", paths_router, tags=["paths"])
    api.add_router("/assignments", assignments_router, tags=["assignments"])
    api.add_router("/notifications", notifications_router, tags=["notifications"])
    api.add_router("/audiences", audiences_router, tags=["audiences"])
    api.add_router("/xapi", xapi_router, tags=["xapi"])
    api.add_router("/scorm", scorm_router, tags=["scorm"])
    api.add_router("/cmi5", cmi5_router, tags=["cmi5"])
    api.add_router("/analytics", analytics_router, tags=["analytics"])
    api.add_router("/nudges", nudges_router, tags=["nudges"])


_mount()
