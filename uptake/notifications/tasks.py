"""Background entry points of notifications: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.core import outbox


@task(queue_name="email")
def deliver_outbox_batch(message_ids: list[int]) -> int:
    """Deliver many outbox messages (each at most once: outbox.deliver locks and checks)."""
    for message_id in message_ids:
        outbox.deliver(message_id)
    return len(message_ids)
