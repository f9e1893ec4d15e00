"""Reactions to HR changes: one service call each (listed in uptake/events.py)."""

from __future__ import annotations

from uptake.audiences import services
from uptake.people.events import PeopleImported, PersonChanged, PersonCreated, PersonDeactivated
from uptake.people.models import Person


def on_person_created(event: PersonCreated) -> None:
    services.apply_person_changes(tenant_id=event.tenant_id, person_ids=[event.person_id])


def on_person_changed(event: PersonChanged) -> None:
    """The person, and their former manager when the manager changed (who may have lost the
    derived manager role with their last report)."""
    ids = [event.person_id]
    old_manager = event.changes.get("manager", (None, None))[0]
    if old_manager:
        ids.extend(
            Person.objects.filter(tenant_id=event.tenant_id, employee_id=old_manager).values_list(
                "pk", flat=True
            )
        )
    services.apply_person_changes(tenant_id=event.tenant_id, person_ids=ids)


def on_person_deactivated(event: PersonDeactivated) -> None:
    services.apply_person_changes(tenant_id=event.tenant_id, person_ids=[event.person_id])


def on_people_imported(event: PeopleImported) -> None:
    """One batch for the whole file (the import publishes no per-person events)."""
    services.apply_person_changes(tenant_id=event.tenant_id, person_ids=event.person_ids)
