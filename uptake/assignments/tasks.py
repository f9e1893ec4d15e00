"""Background entry points of assignments: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.assignments import services


@task()
def notify_managers_of_new_assignments(assignment_id: int, person_ids: list[int], day: str) -> int:
    """Tell the managers of people just given an assignment (one message per manager)."""
    return services.notify_managers(assignment_id=assignment_id, person_ids=person_ids, day=day)
