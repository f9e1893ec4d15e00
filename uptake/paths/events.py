"""Events of learning paths (frozen, past tense)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PathStepUnlocked:
    """Completing a course opened the next step of a path for this person (nudges use it)."""

    tenant_id: int
    path_id: int
    step_id: int
    person_id: int
    course_id: int
    enrollment_id: int | None


@dataclass(frozen=True)
class PathStepsChanged:
    """A published path gained a step or a step's condition changed: the people on it may
    now need the step's course (assignments of the path re-apply to their audiences)."""

    tenant_id: int
    path_id: int
