"""Background entry points of assignments: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.assignments import services


@task()
def notify_managers_of_new_assignments(
    assignment_id: int, person_ids: list[int] | str, day: str
) -> int:
    """Tell the managers of people just given an assignment (one message per manager).
    `person_ids`: a list, or (as queued for large batches) the ids as comma-separated text."""
    if isinstance(person_ids, str):
        person_ids = [int(pk) for pk in person_ids.split(",") if pk]
    return services.notify_managers(assignment_id=assignment_id, person_ids=person_ids, day=day)
