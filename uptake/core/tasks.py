"""Background entry points of the core: one call each, idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django_tasks import task

from uptake.core import clock, outbox


@task(queue_name="email")
def deliver_outbox_message(message_id: int) -> str:
    return outbox.deliver(message_id)


@task()
def retry_outbox() -> int:
    return outbox.retry_due_messages()


@task()
def heartbeat() -> str:
    """Proves the scheduler and a worker are alive (shown by /healthz)."""
    stamp = clock.now().isoformat()
    cache.set("uptake:scheduler:heartbeat", stamp, timeout=None)
    return stamp


@task()
def echo(value: str) -> str:
    """Returns its argument: used to prove a task backend round-trips end to end."""
    return value


@task()
def prune_task_results(min_age_days: int = 7, failed_min_age_days: int = 30) -> bool:
    """Delete finished task results of the database backend (the scheduler adds a few thousand
    a day); failed ones are kept longer for diagnosis. A no-op on other backends."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return False
    call_command(
        "prune_db_task_results",
        queue_name="*",
        min_age_days=min_age_days,
        failed_min_age_days=failed_min_age_days,
        verbosity=0,
    )
    return True
