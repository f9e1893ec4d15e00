"""Pure fold of learning events into rollup deltas (no ORM, no I/O).

Every rollup column is a commutative, idempotent-free fold (min, max, count, set union), so
folding a batch and merging it into the stored rows gives the same result whatever the order
and batching of the events: late and backdated events need no special path.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Verbs a learner does themself (assigned / withdrawn are done to them by someone else).
ACTIVE_VERBS = frozenset(
    {
        "launched",
        "activity_completed",
        "attempt_submitted",
        "passed",
        "failed",
        "course_completed",
        "active_session",
    }
)
# Verbs that mean the person has started the course.
START_VERBS = frozenset(
    {"launched", "activity_completed", "attempt_submitted", "passed", "failed", "course_completed"}
)


@dataclass(frozen=True, slots=True)
class Event:
    tenant_id: int
    person_id: int
    verb: str
    object_id: int | None
    course_id: int | None
    occurred_at: dt.datetime
    attempt: int | None = None  # data["attempt"] of attempt / pass / fail events


def event_from(row: Any) -> Event:
    """An Event from a LearningEvent (or anything with its attribute names)."""
    data = getattr(row, "data", None) or {}
    attempt = data.get("attempt") if isinstance(data, dict) else None
    return Event(
        tenant_id=row.tenant_id,
        person_id=row.person_id,
        verb=row.verb,
        object_id=row.object_id,
        course_id=row.course_id,
        occurred_at=row.occurred_at,
        attempt=attempt if isinstance(attempt, int) else None,
    )


def utc_day(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def period_starts(day: dt.date) -> tuple[tuple[str, dt.date], ...]:
    return (("d", day), ("w", week_start(day)), ("m", month_start(day)))


def _min(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a if a <= b else b


def _max(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a if a >= b else b


# CourseFact columns, in this order.
COURSE_COLUMNS = (
    "first_assigned_at",
    "last_assigned_at",
    "started_at",
    "completed_at",
    "last_withdrawn_at",
    "activation_deadline",
)
COURSE_MERGE = ("min", "max", "min", "min", "max", "min")
# First assignment + ACTIVATION_WINDOW, kept so that "activated" is a plain comparison of two
# stored columns (min commutes with adding a constant).
ACTIVATION_WINDOW = dt.timedelta(days=7)
# CheckFact columns, in this order.
CHECK_COLUMNS = ("course_id", "attempts", "passes", "first_pass_attempt")
CHECK_MERGE = ("keep", "sum", "sum", "min")
# PersonFact columns, in this order (a week start is monotone in its moment: min commutes).
PERSON_COLUMNS = (
    "first_active_at",
    "first_active_week",
    "first_assigned_at",
    "first_assigned_week",
)
PERSON_MERGE = ("min", "min", "min", "min")


@dataclass
class Delta:
    """What a batch of events adds to the rollups."""

    course: dict[tuple[int, int, int], list[Any]] = field(default_factory=dict)
    checks: dict[tuple[int, int, int], list[Any]] = field(default_factory=dict)
    people: dict[tuple[int, int], list[Any]] = field(default_factory=dict)
    active: set[tuple[int, int, str, dt.date]] = field(default_factory=set)
    daily: Counter[tuple[int, dt.date, int, str]] = field(default_factory=Counter)


def merge_values(current: list[Any], new: list[Any], how: tuple[str, ...]) -> list[Any]:
    out = []
    for a, b, rule in zip(current, new, how, strict=True):
        if rule == "min":
            out.append(_min(a, b))
        elif rule == "max":
            out.append(_max(a, b))
        elif rule == "sum":
            out.append((a or 0) + (b or 0))
        else:  # keep the first known value
            out.append(a if a is not None else b)
    return out


def fold(events: Iterable[Event]) -> Delta:
    delta = Delta()
    course = delta.course
    checks = delta.checks
    people = delta.people
    for e in events:
        day = utc_day(e.occurred_at)
        delta.daily[(e.tenant_id, day, e.course_id or 0, e.verb)] += 1
        person: list[Any] | None = None
        if e.verb in ACTIVE_VERBS:
            for grain, start in period_starts(day):
                delta.active.add((e.tenant_id, e.person_id, grain, start))
            person = [e.occurred_at, week_start(day), None, None]
        elif e.verb == "assigned":
            person = [None, None, e.occurred_at, week_start(day)]
        if person is not None:
            pkey = (e.tenant_id, e.person_id)
            old_person = people.get(pkey)
            people[pkey] = (
                person if old_person is None else merge_values(old_person, person, PERSON_MERGE)
            )
        if e.course_id is not None:
            at = e.occurred_at
            new: list[Any] | None = None
            if e.verb == "assigned":
                new = [at, at, None, None, None, at + ACTIVATION_WINDOW]
            elif e.verb == "withdrawn":
                new = [None, None, None, None, at, None]
            elif e.verb in START_VERBS:
                done = at if e.verb == "course_completed" else None
                new = [None, None, at, done, None, None]
            if new is not None:
                key = (e.tenant_id, e.person_id, e.course_id)
                old = course.get(key)
                course[key] = new if old is None else merge_values(old, new, COURSE_MERGE)
        if e.verb in ("attempt_submitted", "passed") and e.object_id is not None:
            passed = e.verb == "passed"
            new_check = [
                e.course_id,
                0 if passed else 1,
                1 if passed else 0,
                e.attempt if passed else None,
            ]
            ckey = (e.tenant_id, e.person_id, e.object_id)
            old_check = checks.get(ckey)
            checks[ckey] = (
                new_check if old_check is None else merge_values(old_check, new_check, CHECK_MERGE)
            )
    return delta
