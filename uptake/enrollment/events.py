"""What happens to enrolments that other apps may react to (published on commit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class EnrollmentCreated:
    """A person was enrolled in a course (a new enrolment or a withdrawn one re-activated)."""

    tenant_id: int
    enrollment_id: int
    person_id: int
    course_id: int
    source: str
    due_at: dt.datetime | None


@dataclass(frozen=True)
class EnrollmentWithdrawn:
    tenant_id: int
    enrollment_id: int
    person_id: int
    course_id: int


@dataclass(frozen=True)
class EnrollmentDueDateChanged:
    tenant_id: int
    enrollment_id: int
    person_id: int
    course_id: int
    old_due_at: dt.datetime | None
    new_due_at: dt.datetime | None


@dataclass(frozen=True)
class EnrollmentCompleted:
    """Every required activity is done and every required knowledge check passed."""

    tenant_id: int
    enrollment_id: int
    person_id: int
    course_id: int
    completed_at: dt.datetime
