from __future__ import annotations

from uptake.core.errors import NotFound
from uptake.tenancy.models import Tenant


def get_tenant(*, slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise NotFound(f"No organisation called {slug!r}.")
    return tenant
