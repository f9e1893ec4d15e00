"""What happens in a learner's progress that other apps may react to (published on commit).

A completed course is announced by the enrolment app's EnrollmentCompleted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActivityCompleted:
    """An activity is done for the first time (a knowledge check: passed for the first time)."""

    tenant_id: int
    enrollment_id: int
    person_id: int
    course_id: int
    activity_id: int


@dataclass(frozen=True)
class AttemptSubmitted:
    tenant_id: int
    enrollment_id: int
    person_id: int
    course_id: int
    activity_id: int
    attempt_id: int
    number: int
    score_percent: int
    passed: bool
