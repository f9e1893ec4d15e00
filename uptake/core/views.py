"""Health: the database and the task queue, for load balancers and `make run`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from uptake.core import clock


def _task_queue_state() -> dict[str, Any]:
    tasks_setting: Any = settings.TASKS
    backend = tasks_setting["default"]["BACKEND"]
    state: dict[str, Any] = {"backend": backend}
    if backend == "django_tasks_db.DatabaseBackend":
        from django_tasks_db.models import DBTaskResult

        ready = DBTaskResult.objects.filter(status="READY")
        state["ready"] = ready.count()
        oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
        state["oldest_ready_seconds"] = (
            round((clock.now() - oldest).total_seconds(), 1) if oldest else 0
        )
        # The scheduler enqueues a heartbeat every minute: its last run proves both the
        # scheduler and a worker are alive (informational; a fresh install has none yet).
        beat = (
            DBTaskResult.objects.filter(
                task_path="uptake.core.tasks.heartbeat", status="SUCCESSFUL"
            )
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        state["last_heartbeat"] = beat.isoformat() if beat else None
        state["ok"] = True
    elif backend == "django_tasks_rq.RQBackend":
        import django_rq

        conn = django_rq.get_connection("default")
        conn.ping()
        state["ready"] = django_rq.get_queue("default").count
        state["ok"] = True
    else:
        state["ok"] = True
    return state


def healthz(request: HttpRequest) -> JsonResponse:
    body: dict[str, Any] = {"status": "ok"}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        body["database"] = {"ok": False, "error": str(exc)}
        body["status"] = "degraded"
        status = 503
    try:
        body["tasks"] = _task_queue_state()
    except Exception as exc:
        body["tasks"] = {"ok": False, "error": str(exc)}
        body["status"] = "degraded"
        status = 503
    return JsonResponse(body, status=status)
