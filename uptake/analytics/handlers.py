"""Reactions of analytics to other apps' domain events (listed in uptake/events.py)."""

from __future__ import annotations

from uptake.analytics import services
from uptake.enrollment.events import EnrollmentDueDateChanged

# A new or re-activated enrolment needs no handler: its "assigned" event, written in the same
# transaction, copies the enrolment's due date (rollups._apply_course).


def copy_changed_due_date(event: EnrollmentDueDateChanged) -> None:
    services.sync_due_dates(tenant_id=event.tenant_id, pairs=[(event.person_id, event.course_id)])
