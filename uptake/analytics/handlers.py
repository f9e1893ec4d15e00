"""Reactions to HR changes: the dimension cells follow people's attributes (ADR 0017). One
service call each (listed in uptake/events.py)."""

from __future__ import annotations

from uptake.analytics import services
from uptake.people.events import PeopleImported, PersonChanged, PersonDeactivated

# Attributes the dimension cells are keyed by (PersonChanged.changes names).
_DIMENSIONS = frozenset({"department", "location", "manager", "hire_date", "is_active"})


def on_person_changed(event: PersonChanged) -> None:
    if _DIMENSIONS & event.changes.keys():
        services.sync_people(tenant_id=event.tenant_id, person_ids=[event.person_id])


def on_person_deactivated(event: PersonDeactivated) -> None:
    services.sync_people(tenant_id=event.tenant_id, person_ids=[event.person_id])


def on_people_imported(event: PeopleImported) -> None:
    services.sync_people(tenant_id=event.tenant_id, person_ids=event.person_ids)
