"""Reactions of learning paths to other apps' events: one service call each."""

from __future__ import annotations

from uptake.enrollment.events import EnrollmentCompleted
from uptake.paths import services


def announce_unlocked_steps(event: EnrollmentCompleted) -> None:
    """A completed course may open the next step of the person's paths."""
    services.announce_unlocked_steps(
        tenant_id=event.tenant_id, person_id=event.person_id, course_id=event.course_id
    )
