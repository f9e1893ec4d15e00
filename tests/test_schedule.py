"""The schedule table is valid, and the scheduler enqueues its jobs and stops cleanly."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from django.core.cache import cache
from django_tasks import TaskResultStatus
from django_tasks.base import Task

from uptake.core.management.commands.run_scheduler import build_scheduler
from uptake.schedule import SCHEDULE, Job, enqueue_job

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _immediate_tasks_with_all_queues(settings):
    """Tasks run in the test process; both queues exist, as in every real configuration."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default", "email"],
        }
    }


def test_every_scheduled_job_names_a_task_and_a_valid_cron_expression():
    assert len({job.id for job in SCHEDULE}) == len(SCHEDULE)
    for job in SCHEDULE:
        assert isinstance(job.task(), Task), job
        CronTrigger.from_crontab(job.cron, timezone=dt.UTC)


def test_a_path_that_is_not_a_task_is_refused():
    job = Job(id="bad", task_path="uptake.schedule.enqueue_job", cron="* * * * *")
    try:
        job.task()
    except TypeError as error:
        assert "not a task" in str(error)
    else:
        raise AssertionError("expected TypeError")


def test_heartbeat_job_fires_every_minute():
    [heartbeat] = [job for job in SCHEDULE if job.id == "heartbeat"]
    trigger = CronTrigger.from_crontab(heartbeat.cron, timezone=dt.UTC)
    start = dt.datetime(2025, 1, 1, 12, 0, 30, tzinfo=dt.UTC)
    first = trigger.get_next_fire_time(None, start)
    second = trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1))
    assert first == dt.datetime(2025, 1, 1, 12, 1, tzinfo=dt.UTC)
    assert second == dt.datetime(2025, 1, 1, 12, 2, tzinfo=dt.UTC)


@pytest.mark.django_db  # enqueue_job recycles the thread's database connections
def test_enqueuing_the_heartbeat_job_runs_it_on_the_task_backend():
    cache.delete("uptake:scheduler:heartbeat")
    [heartbeat] = [job for job in SCHEDULE if job.id == "heartbeat"]

    result = enqueue_job(heartbeat)

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert cache.get("uptake:scheduler:heartbeat") == result.return_value


def test_scheduler_has_one_cron_job_per_schedule_entry():
    scheduler = build_scheduler(SCHEDULE)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.id for job in SCHEDULE}
    for entry in SCHEDULE:
        assert jobs[entry.id].args == (entry,)
        assert jobs[entry.id].func is enqueue_job


def test_scheduler_process_stops_cleanly_on_sigterm():
    # The scheduler only enqueues; should a minute boundary pass during the test, the database
    # backend records the run (or logs why it could not), and the process still stops cleanly.
    env = {**os.environ, "UPTAKE_TASKS_BACKEND": "db", "UPTAKE_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Scheduler started" in line:
                break
        assert any("Scheduler started" in line for line in lines), "".join(lines)

        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "Scheduler stopped" in output
