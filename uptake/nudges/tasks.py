"""Background entry points of nudges: one call each, idempotent (see uptake/schedule.py)."""

from __future__ import annotations

from django_tasks import task

from uptake.core.actor import Actor


@task()
def sweep_nudges() -> int:
    """Decide every due nudge of every active campaign (exactly once per occurrence)."""
    from uptake.nudges.sweep import sweep

    return sweep().queued


@task()
def dispatch_nudges() -> int:
    """Render and queue the nudges whose send time has come (in the person's send window)."""
    from uptake.nudges.dispatch import dispatch_due

    return dispatch_due()


@task()
def send_manager_digests() -> int:
    """Monday: each manager's digest of reports who are overdue or have not started."""
    from uptake.nudges import services
    from uptake.tenancy.models import Tenant

    total = 0
    for tenant_id in Tenant.objects.values_list("pk", flat=True):
        total += services.send_manager_digests(actor=Actor.system("digest"), tenant_id=tenant_id)
    return total


@task(queue_name="email")
def deliver_nudge_messages(message_ids: list[int]) -> int:
    """Deliver a batch of outbox messages over one SMTP session, lease-then-send (each at most
    once: the outbox claims them first; failures are retried with backoff)."""
    from uptake.core import outbox

    return len(outbox.deliver_many(message_ids))
