"""What happens in the catalogue that other apps may react to (published on commit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class CoursePublished:
    """A course became visible to learners (from draft, or again after being unpublished)."""

    tenant_id: int
    course_id: int
    published_at: dt.datetime
    actor_person_id: int | None = None


@dataclass(frozen=True)
class CourseUpdated:
    """An author changed a course's own fields or its outline; `changed` names what changed
    (course field names, or "outline" when modules/activities/questions changed)."""

    tenant_id: int
    course_id: int
    changed: tuple[str, ...]
    actor_person_id: int | None = None
