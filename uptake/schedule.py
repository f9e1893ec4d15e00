"""Periodic jobs: what runs when, on one screen.

Each entry names a task (a `django_tasks` task, i.e. a background entry point, idempotent) and a
cron expression (minute hour day-of-month month day-of-week, interpreted in UTC). The scheduler
process (`python manage.py run_scheduler`, exactly one per deployment) only *enqueues* the task
at those times; task workers run it. So a slow job never delays the schedule, and a job that
is enqueued twice (e.g. two schedulers by mistake) does no harm because every task is
idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections
from django.utils.module_loading import import_string
from django_tasks import TaskResult
from django_tasks.base import Task

logger = logging.getLogger("uptake.scheduler")


@dataclass(frozen=True)
class Job:
    """One periodic job: enqueue the task at `task_path` whenever `cron` matches (UTC)."""

    id: str
    task_path: str
    cron: str

    def task(self) -> Task[[], Any]:
        """The task this job enqueues; raises TypeError if the path names something else."""
        obj = import_string(self.task_path)
        if not isinstance(obj, Task):
            raise TypeError(f"Scheduled job {self.id!r}: {self.task_path} is not a task")
        return obj


SCHEDULE: list[Job] = [
    # Proves the scheduler and a worker are alive (read by /healthz).
    Job(id="heartbeat", task_path="uptake.core.tasks.heartbeat", cron="* * * * *"),
    # Re-delivers outbox messages whose earlier delivery failed, once their backoff is over.
    Job(id="retry-outbox", task_path="uptake.core.tasks.retry_outbox", cron="* * * * *"),
    # Finished task results pile up in the database backend: keep a week (failures a month).
    Job(
        id="prune-task-results", task_path="uptake.core.tasks.prune_task_results", cron="40 3 * * *"
    ),
    # Tenure-based audience rules change as days pass: recompute every audience nightly.
    Job(
        id="recompute-audiences",
        task_path="uptake.audiences.tasks.recompute_all_audiences",
        cron="15 2 * * *",
    ),
    # Files of deleted SCORM packages (their activity deleted, or an upload that crashed).
    Job(
        id="sweep-scorm-files",
        task_path="uptake.scorm.tasks.sweep_orphaned_package_files",
        cron="50 3 * * *",
    ),
    # Files of deleted cmi5 course structures (their module deleted, or an import that crashed).
    Job(
        id="sweep-cmi5-files",
        task_path="uptake.cmi5.tasks.sweep_orphaned_package_files",
        cron="55 3 * * *",
    ),
    # Nudges: decide what is due (every 5 minutes), send what is due (every minute), and the
    # managers' weekly digest (Mondays 06:00 UTC).
    Job(id="sweep-nudges", task_path="uptake.nudges.tasks.sweep_nudges", cron="*/5 * * * *"),
    Job(id="dispatch-nudges", task_path="uptake.nudges.tasks.dispatch_nudges", cron="* * * * *"),
    Job(
        id="manager-digests",
        task_path="uptake.nudges.tasks.send_manager_digests",
        cron="0 6 * * 1",
    ),
    # xAPI: organisations' new learning events queued for their external LRS (outbox delivers).
    Job(
        id="forward-xapi",
        task_path="uptake.xapi.tasks.forward_learning_events",
        cron="* * * * *",
    ),
]


def enqueue_job(job: Job) -> TaskResult[Any]:
    """Enqueue one run of `job` on its task's backend and queue. Called by the scheduler."""
    # The scheduler calls this from its own threads: drop stale connections before and after,
    # so a long-lived scheduler never holds a broken or idle database connection.
    close_old_connections()
    try:
        result = job.task().enqueue()
    finally:
        close_old_connections()
    logger.info(
        "Enqueued scheduled job %s (%s) on queue %r as %s",
        job.id,
        job.task_path,
        result.task.queue_name,
        result.id,
    )
    return result
