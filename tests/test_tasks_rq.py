"""The scale configuration is real: tasks go through Redis and are run by RQ workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import django_rq
import pytest
from django_tasks import TaskResultStatus
from django_tasks_rq.backend import Job
from rq import SimpleWorker

from uptake.core.tasks import echo, heartbeat

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rq_tasks(redis_server, settings):
    """Task backend and RQ queues as settings.py builds them for UPTAKE_TASKS_BACKEND=rq."""
    settings.RQ_QUEUES = {
        "default": {"URL": redis_server, "DEFAULT_TIMEOUT": 60},
        "email": {"URL": redis_server, "DEFAULT_TIMEOUT": 60},
    }
    # Changing TASKS sends setting_changed, on which django_tasks drops its cached backends.
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "email"]}
    }
    connection = django_rq.get_connection("default")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def test_task_enqueued_on_rq_is_run_by_a_worker_and_its_result_round_trips(rq_tasks):
    result = echo.enqueue("hello through redis")
    assert result.backend == "default"
    assert result.status == TaskResultStatus.READY
    assert django_rq.get_queue("default").count == 1

    queue = django_rq.get_queue("default", job_class=Job)
    worker = SimpleWorker([queue], connection=rq_tasks, job_class=Job)
    assert worker.work(burst=True) is True

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "hello through redis"
    assert result.errors == []
    assert result.worker_ids == [worker.name]
    assert django_rq.get_queue("default").count == 0


def test_rqworker_process_configured_from_the_environment_runs_queued_tasks(rq_tasks, redis_server):
    echoed = echo.enqueue("from another process")
    beat = heartbeat.enqueue()

    env = {
        **os.environ,
        "UPTAKE_TASKS_BACKEND": "rq",
        "REDIS_URL": redis_server,
        "UPTAKE_TESTING": "1",
    }
    completed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "rqworker",
            "default",
            "email",
            "--burst",
            "--job-class",
            "django_tasks_rq.Job",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr

    echoed.refresh()
    beat.refresh()
    assert echoed.status == TaskResultStatus.SUCCESSFUL
    assert echoed.return_value == "from another process"
    assert beat.status == TaskResultStatus.SUCCESSFUL
    assert isinstance(beat.return_value, str)
    assert beat.return_value[:4].isdigit()
