"""Background entry points of progress: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.progress import services


@task()
def recompute_course_progress(tenant_id: int, course_id: int) -> int:
    """Every open enrolment of a course against its current outline (after an edit)."""
    return services.recompute_course(tenant_id=tenant_id, course_id=course_id)
