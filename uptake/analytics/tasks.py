"""Background entry points of analytics: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.analytics import services


@task()
def apply_pending_rollups() -> int:
    """Bring the rollups up to date with the events a large batch left to the worker (ADR 0035);
    returns how many events were applied (0 when another run took them)."""
    return services.apply_pending_rollups()
