"""Reactions of progress to other apps' events: one call each."""

from __future__ import annotations

from typing import Any


def on_course_updated(event: Any) -> None:
    """A course's outline changed (CourseUpdated with "outline", or required flags): the
    percent of everyone enrolled is recomputed in the background (a course may have 100,000
    enrolments; the author's save must not wait for them)."""
    if "outline" not in event.changed:
        return
    from uptake.progress.tasks import recompute_course_progress

    recompute_course_progress.enqueue(event.tenant_id, event.course_id)
