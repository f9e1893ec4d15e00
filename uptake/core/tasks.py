"""Background entry points of the core: one call each, idempotent."""

from __future__ import annotations

from django.core.cache import cache
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
