"""Background entry points of audiences: one service call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.audiences import services
from uptake.tenancy.models import Tenant


@task()
def recompute_tenant_audiences(tenant_id: int) -> int:
    """Recompute every active audience of one tenant; returns how many memberships changed."""
    diffs = services.recompute_audiences(tenant_id=tenant_id)
    return sum(len(d.joined) + len(d.left) for d in diffs)


@task()
def recompute_all_audiences() -> int:
    """Nightly: time-based rules (tenure, "hired within the last N days") move people as days
    pass. Idempotent: a second run the same day changes nothing."""
    total = 0
    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        diffs = services.recompute_audiences(tenant_id=tenant_id)
        total += sum(len(d.joined) + len(d.left) for d in diffs)
    return total
