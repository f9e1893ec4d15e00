"""A straightforward recomputation of the rollups from raw LearningEvent rows, written
independently of uptake.analytics.fold (no shared code), for the equality tests."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from uptake.analytics.models import (
    ActiveCount,
    ActivePeriod,
    AssignmentCell,
    CheckCell,
    CheckFact,
    CompletionCell,
    CourseFact,
    DailyCount,
    DimActiveCell,
    DimAssignmentCell,
    DimCheckCell,
    DimCompletionCell,
    DimDurationCell,
    DimRetentionCell,
    DurationCell,
    LearningEvent,
    PersonFact,
    RetentionCell,
)

LEARNER_VERBS = {
    "launched",
    "activity_completed",
    "attempt_submitted",
    "passed",
    "failed",
    "course_completed",
    "active_session",
}


def _day(at: dt.datetime) -> dt.date:
    return at.astimezone(dt.UTC).date()


def expected() -> dict[str, Any]:
    events = list(LearningEvent.objects.all())
    course: dict[tuple[int, int, int], list[dt.datetime]] = defaultdict(list)
    for e in events:
        if e.course_id is not None:
            course[(e.tenant_id, e.person_id, e.course_id)].append(e)  # type: ignore[arg-type]
    facts = {}
    for key, evs in course.items():

        def times(*verbs: str, evs: list[Any] = evs) -> list[dt.datetime]:
            return [x.occurred_at for x in evs if x.verb in verbs]

        assigned = times("assigned")
        started = times(
            "launched",
            "activity_completed",
            "attempt_submitted",
            "passed",
            "failed",
            "course_completed",
        )
        completed = times("course_completed")
        withdrawn = times("withdrawn")
        if not (assigned or started or withdrawn):
            continue
        facts[key] = (
            min(assigned, default=None),
            max(assigned, default=None),
            min(started, default=None),
            min(completed, default=None),
            max(withdrawn, default=None),
            min(assigned) + dt.timedelta(days=7) if assigned else None,
        )
    checks: dict[tuple[int, int, int], list[Any]] = {}
    for e in events:
        if e.verb in ("attempt_submitted", "passed") and e.object_id is not None:
            row = checks.setdefault((e.tenant_id, e.person_id, e.object_id), [None, 0, 0, []])
            if row[0] is None:
                row[0] = e.course_id
            if e.verb == "attempt_submitted":
                row[1] += 1
            else:
                row[2] += 1
                if isinstance(e.data.get("attempt"), int):
                    row[3].append(e.data["attempt"])
    active = set()
    for e in events:
        if e.verb in LEARNER_VERBS:
            d = _day(e.occurred_at)
            active.add((e.tenant_id, e.person_id, "d", d))
            active.add((e.tenant_id, e.person_id, "w", d - dt.timedelta(days=d.weekday())))
            active.add((e.tenant_id, e.person_id, "m", d.replace(day=1)))
    people: dict[tuple[int, int], tuple[Any, ...]] = {}
    for key in {(e.tenant_id, e.person_id) for e in events}:
        mine = [e for e in events if (e.tenant_id, e.person_id) == key]
        active_at = min((e.occurred_at for e in mine if e.verb in LEARNER_VERBS), default=None)
        assigned_at = min((e.occurred_at for e in mine if e.verb == "assigned"), default=None)
        if active_at is None and assigned_at is None:
            continue

        def monday(at: dt.datetime | None) -> dt.date | None:
            if at is None:
                return None
            d = _day(at)
            return d - dt.timedelta(days=d.weekday())

        people[key] = (active_at, monday(active_at), assigned_at, monday(assigned_at))
    counts = Counter((t, g, s) for t, _p, g, s in active)
    daily = Counter((e.tenant_id, _day(e.occurred_at), e.course_id or 0, e.verb) for e in events)
    retention: Counter[tuple[Any, ...]] = Counter()
    retention_people: list[tuple[Any, ...]] = []
    for t, p, g, w in active:
        if g != "w":
            continue
        _a, active_week, _s, assigned_week = people[(t, p)]
        for kind, cohort in (("s", active_week), ("a", assigned_week)):
            if cohort is not None and w >= cohort:
                retention[(t, kind, cohort, w)] += 1
                retention_people.append((t, p, kind, cohort, w))
    return {
        **_cells(facts),
        **_dim_cells(facts, active),
        "dim_retention_cells": _dim_retention(retention_people),
        "retention_cells": dict(retention),
        "course": facts,
        "checks": {k: (v[0], v[1], v[2], min(v[3], default=None)) for k, v in checks.items()},
        "check_cells": _check_cells(checks),
        "dim_check_cells": _dim_check_cells(checks),
        "active": active,
        "people": people,
        "counts": dict(counts),
        "daily": dict(daily),
    }


def _cells(facts: dict[tuple[int, int, int], tuple[Any, ...]]) -> dict[str, Any]:
    """The second-level cells: current assignments counted per course and day (ADR 0014)."""
    from uptake.enrollment.models import Enrollment

    due = {
        (e.tenant_id, e.person_id, e.course_id): e.due_at
        for e in Enrollment.objects.filter(due_at__isnull=False)
    }
    cells: dict[Any, list[int]] = {}
    done: Counter[Any] = Counter()
    hours: Counter[Any] = Counter()
    for (t, p, c), (first, last, started, completed, withdrawn, _deadline) in facts.items():
        current = first is not None and (withdrawn is None or withdrawn < last)
        if not current:
            continue
        d = due.get((t, p, c))
        key = (t, c, _day(first), _day(d) if d else dt.date(9999, 12, 31))
        row = cells.setdefault(key, [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += started is not None
        row[2] += completed is not None
        row[3] += started is not None and started <= first + dt.timedelta(days=7)
        row[4] += d is not None and completed is not None and completed <= d
        if completed is not None:
            done[(t, c, _day(completed))] += 1
            hours[(t, c, max(0, int((completed - first).total_seconds() // 3600)))] += 1
    return {
        "cells": {k: tuple(v) for k, v in cells.items()},
        "completion_cells": dict(done),
        "duration_cells": dict(hours),
    }


def _person_values() -> dict[int, tuple[dict[str, str], bool]]:
    """Each person's dimension values now (kind -> value) and whether they are active."""
    from uptake.people.models import Person

    out = {}
    for p in Person.objects.all():
        out[p.pk] = (
            {
                "d": p.department or "",
                "l": p.location or "",
                "m": "" if p.manager_id is None else str(p.manager_id),
                "h": p.hire_date.strftime("%Y-%m") if p.hire_date else "",
            },
            p.is_active,
        )
    return out


def _dim_cells(
    facts: dict[tuple[int, int, int], tuple[Any, ...]], active: set[tuple[Any, ...]]
) -> dict[str, Any]:
    """The dimension cells (ADR 0017): the second-level cells again, per person's current
    department / location / manager / hire month; active people per value and period."""
    from uptake.enrollment.models import Enrollment

    values = _person_values()
    due = {
        (e.tenant_id, e.person_id, e.course_id): e.due_at
        for e in Enrollment.objects.filter(due_at__isnull=False)
    }
    cells: dict[Any, list[int]] = {}
    done: Counter[Any] = Counter()
    hours: Counter[Any] = Counter()
    for (t, p, c), (first, last, started, completed, withdrawn, _deadline) in facts.items():
        if first is None or not (withdrawn is None or withdrawn < last):
            continue
        d = due.get((t, p, c))
        for kind, value in values[p][0].items():
            key = (t, kind, value, c, _day(first), _day(d) if d else dt.date(9999, 12, 31))
            row = cells.setdefault(key, [0, 0, 0, 0, 0])
            row[0] += 1
            row[1] += started is not None
            row[2] += completed is not None
            row[3] += started is not None and started <= first + dt.timedelta(days=7)
            row[4] += d is not None and completed is not None and completed <= d
            if completed is not None:
                done[(t, kind, value, c, _day(completed))] += 1
                h = max(0, int((completed - first).total_seconds() // 3600))
                hours[(t, kind, value, c, h)] += 1
    people: Counter[Any] = Counter()
    for t, p, g, s in active:
        dims, is_active = values[p]
        for kind in ("d", "l", "h"):
            people[(t, kind, dims[kind], g, s)] += 1
        if g == "w" and is_active:
            for kind in ("d", "l", "m"):
                people[(t, kind.upper(), dims[kind], g, s)] += 1
    return {
        "dim_cells": {k: tuple(v) for k, v in cells.items()},
        "dim_completion_cells": dict(done),
        "dim_duration_cells": dict(hours),
        "dim_active_cells": dict(people),
    }


def _dim_retention(rows: list[tuple[Any, ...]]) -> dict[Any, int]:
    values = _person_values()
    out: Counter[Any] = Counter()
    for t, p, kind, cohort, w in rows:
        for dkind in ("d", "l", "h"):
            out[(t, dkind, values[p][0][dkind], kind, cohort, w)] += 1
    return dict(out)


def _check_cells(checks: dict[tuple[int, int, int], list[Any]]) -> dict[Any, Any]:
    """Per (tenant, course or 0, check): people who attempted, passed, passed at the first
    attempt, and the sum of their first passing attempt numbers."""
    cells: dict[Any, list[int]] = {}
    for (t, _p, a), (course, attempts, passes, numbers) in checks.items():
        if not attempts:
            continue
        cell = cells.setdefault((t, course or 0, a), [0, 0, 0, 0])
        cell[0] += 1
        if passes:
            first = min(numbers) if numbers else attempts - passes + 1
            cell[1] += 1
            cell[2] += first == 1
            cell[3] += first
    return {k: tuple(v) for k, v in cells.items()}


def _dim_check_cells(checks: dict[tuple[int, int, int], list[Any]]) -> dict[Any, Any]:
    """The check cells again per person's current department / location / hire month."""
    values = _person_values()
    cells: dict[Any, list[int]] = {}
    for (t, p, a), row in checks.items():
        for (_t, course, _a), counters in _check_cells({(t, p, a): row}).items():
            for kind in ("d", "l", "h"):
                cell = cells.setdefault((t, kind, values[p][0][kind], course, a), [0, 0, 0, 0])
                for i, v in enumerate(counters):
                    cell[i] += v
    return {k: tuple(v) for k, v in cells.items()}


def _counters(cell: Any) -> tuple[int, int, int, int]:
    return (cell.people, cell.passed, cell.first_try, cell.pass_attempts)


def stored() -> dict[str, Any]:
    return {
        "dim_retention_cells": {
            (c.tenant_id, c.kind, c.value, c.cohort_kind, c.cohort_week, c.week): c.people
            for c in DimRetentionCell.objects.all()
            if c.people
        },
        "dim_cells": {
            (c.tenant_id, c.kind, c.value, c.course_id, c.assigned_day, c.due_day): (
                c.assigned,
                c.started,
                c.completed,
                c.activated,
                c.on_time,
            )
            for c in DimAssignmentCell.objects.all()
            if any((c.assigned, c.started, c.completed, c.activated, c.on_time))
        },
        "dim_completion_cells": {
            (c.tenant_id, c.kind, c.value, c.course_id, c.day): c.n
            for c in DimCompletionCell.objects.all()
            if c.n
        },
        "dim_duration_cells": {
            (c.tenant_id, c.kind, c.value, c.course_id, c.hours): c.n
            for c in DimDurationCell.objects.all()
            if c.n
        },
        "dim_active_cells": {
            (c.tenant_id, c.kind, c.value, c.grain, c.start): c.people
            for c in DimActiveCell.objects.all()
            if c.people
        },
        "retention_cells": {
            (c.tenant_id, c.cohort_kind, c.cohort_week, c.week): c.people
            for c in RetentionCell.objects.all()
            if c.people
        },
        "cells": {
            (c.tenant_id, c.course_id, c.assigned_day, c.due_day): (
                c.assigned,
                c.started,
                c.completed,
                c.activated,
                c.on_time,
            )
            for c in AssignmentCell.objects.all()
            if any((c.assigned, c.started, c.completed, c.activated, c.on_time))
        },
        "completion_cells": {
            (c.tenant_id, c.course_id, c.day): c.n for c in CompletionCell.objects.all() if c.n
        },
        "duration_cells": {
            (c.tenant_id, c.course_id, c.hours): c.n for c in DurationCell.objects.all() if c.n
        },
        "course": {
            (f.tenant_id, f.person_id, f.course_id): (
                f.first_assigned_at,
                f.last_assigned_at,
                f.started_at,
                f.completed_at,
                f.last_withdrawn_at,
                f.activation_deadline,
            )
            for f in CourseFact.objects.all()
        },
        "checks": {
            (c.tenant_id, c.person_id, c.activity_id): (
                c.course_id,
                c.attempts,
                c.passes,
                c.first_pass_attempt,
            )
            for c in CheckFact.objects.all()
        },
        "check_cells": {
            (c.tenant_id, c.course_id, c.activity_id): _counters(c)
            for c in CheckCell.objects.all()
            if any(_counters(c))
        },
        "dim_check_cells": {
            (c.tenant_id, c.kind, c.value, c.course_id, c.activity_id): _counters(c)
            for c in DimCheckCell.objects.all()
            if any(_counters(c))
        },
        "people": {
            (f.tenant_id, f.person_id): (
                f.first_active_at,
                f.first_active_week,
                f.first_assigned_at,
                f.first_assigned_week,
            )
            for f in PersonFact.objects.all()
        },
        "active": set(ActivePeriod.objects.values_list("tenant_id", "person_id", "grain", "start")),
        "counts": {(c.tenant_id, c.grain, c.start): c.people for c in ActiveCount.objects.all()},
        "daily": {(c.tenant_id, c.day, c.course_id, c.verb): c.n for c in DailyCount.objects.all()},
    }
