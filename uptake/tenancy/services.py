from __future__ import annotations

from uptake.core.actor import Actor
from uptake.tenancy.models import Tenant


def create_tenant(
    *, actor: Actor, name: str, slug: str, time_zone: str = "UTC", language: str = "en"
) -> Tenant:
    return Tenant.objects.create(name=name, slug=slug, time_zone=time_zone, language=language)
