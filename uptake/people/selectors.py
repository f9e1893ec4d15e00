"""Reads about people: always tenant-scoped."""

from __future__ import annotations

from uptake.people import rules
from uptake.people.models import Person, PersonRole


def roles_of(*, person: Person) -> frozenset[str]:
    """The person's effective roles (cached on the instance for the request)."""
    cached: frozenset[str] | None = getattr(person, "_uptake_roles", None)
    if cached is not None:
        return cached
    granted = PersonRole.objects.filter(tenant_id=person.tenant_id, person=person).values_list(
        "role", flat=True
    )
    has_reports = Person.objects.filter(
        tenant_id=person.tenant_id, manager=person, is_active=True
    ).exists()
    roles = rules.effective_roles(granted=list(granted), has_reports=has_reports)
    person._uptake_roles = roles  # type: ignore[attr-defined]
    return roles
