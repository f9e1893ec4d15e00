from __future__ import annotations

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from uptake.core import tasks
from uptake.schedule import SCHEDULE

pytestmark = pytest.mark.django_db

DB_BACKEND = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "email"]}
}


def _result(status: str, finished_days_ago: int, path: str = "uptake.core.tasks.echo"):
    finished = dt.datetime.now(dt.UTC) - dt.timedelta(days=finished_days_ago)
    row = DBTaskResult.objects.create(
        status=status,
        args_kwargs={"args": [], "kwargs": {}},
        task_path=path,
        queue_name="default",
        backend_name="default",
        run_after=finished,
        finished_at=finished,
        started_at=finished,
    )
    return row


def test_pruning_keeps_a_week_of_results_and_a_month_of_failures(settings):
    settings.TASKS = DB_BACKEND
    old_ok = _result("SUCCESSFUL", 8)
    recent_ok = _result("SUCCESSFUL", 2)
    old_failed = _result("FAILED", 8)
    ancient_failed = _result("FAILED", 31)
    assert tasks.prune_task_results.call() is True
    left = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert left == {recent_ok.pk, old_failed.pk}
    assert old_ok.pk not in left and ancient_failed.pk not in left


def test_pruning_is_scheduled_daily():
    [job] = [j for j in SCHEDULE if j.id == "prune-task-results"]
    assert job.task_path == "uptake.core.tasks.prune_task_results"
    assert job.cron == "40 3 * * *"


def test_healthz_shows_the_last_heartbeat_of_the_database_worker(client, settings):
    settings.TASKS = DB_BACKEND
    assert client.get("/healthz").json()["tasks"]["last_heartbeat"] is None
    beat = _result("SUCCESSFUL", 0, path="uptake.core.tasks.heartbeat")
    body = client.get("/healthz").json()
    assert body["tasks"]["last_heartbeat"] == beat.finished_at.isoformat()
