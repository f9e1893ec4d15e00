"""Background entry points of notifications: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.core import outbox


@task(queue_name="email")
def deliver_outbox_batch(message_ids: list[int]) -> int:
    """Deliver many outbox messages: claimed in batches and sent over shared SMTP sessions
    (outbox.deliver_many: each at most once, a message another worker holds is left to it)."""
    outbox.deliver_many(message_ids)
    return len(message_ids)
