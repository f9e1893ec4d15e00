"""Reactions of nudges to other apps' events: one service call each (listed in uptake/events.py)."""

from __future__ import annotations

from uptake.core.actor import Actor
from uptake.enrollment.events import EnrollmentDueDateChanged, EnrollmentWithdrawn
from uptake.nudges import services
from uptake.paths.events import PathStepUnlocked

SYSTEM = Actor.system("nudges")


def remember_unlocked_step(event: PathStepUnlocked) -> None:
    services.record_unlock(
        actor=SYSTEM,
        tenant_id=event.tenant_id,
        enrollment_id=event.enrollment_id,
        path_id=event.path_id,
        step_id=event.step_id,
    )


def update_calendar_invite(event: EnrollmentDueDateChanged) -> None:
    services.update_calendar(
        actor=SYSTEM, enrollment_id=event.enrollment_id, due_at=event.new_due_at
    )


def cancel_calendar_invite(event: EnrollmentWithdrawn) -> None:
    services.cancel_calendar(actor=SYSTEM, enrollment_id=event.enrollment_id)
