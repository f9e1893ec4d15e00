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
from typing import Any, NamedTuple

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


class Event(NamedTuple):
    """One event as the fold needs it (a plain tuple: cheap to build in bulk)."""

    tenant_id: int
    person_id: int
    verb: str
    object_id: int | None
    course_id: int | None
    occurred_at: dt.datetime
    attempt: int | None = None  # data["attempt"] of attempt / pass / fail events


def attempt_number(value: Any) -> int | None:
    """The attempt number held in an event's data: a whole number, or its digits as text (what
    the database gives back when it reads the JSON); anything else is no number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


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
        attempt=attempt_number(attempt),
    )


def utc_day(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


# The cells of a batch share few distinct moments (one assignment time, due dates by hire
# date): their days are looked up, not recomputed. Bounded: cleared when it grows past this.
_UTC_DAYS: dict[dt.datetime, dt.date] = {}
_UTC_DAYS_MAX = 65_536


def _cached_utc_day(moment: dt.datetime) -> dt.date:
    day = _UTC_DAYS.get(moment)
    if day is None:
        if len(_UTC_DAYS) >= _UTC_DAYS_MAX:
            _UTC_DAYS.clear()
        day = _UTC_DAYS[moment] = utc_day(moment)
    return day


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


def fold(events: Iterable[Event | tuple[Any, ...]]) -> Delta:
    """Fold events (Event or tuples in Event's field order) into rollup deltas.

    The hot path of bulk writes: merges are written out inline (same rules as COURSE_MERGE,
    CHECK_MERGE, PERSON_MERGE) and day -> week/month is computed once per distinct day."""
    delta = Delta()
    course = delta.course
    checks = delta.checks
    people = delta.people
    active = delta.active
    daily = delta.daily
    periods: dict[Any, tuple[dt.date, dt.date, dt.date]] = {}
    window = ACTIVATION_WINDOW
    for tenant_id, person_id, verb, object_id, course_id, at, attempt in events:
        day = at.astimezone(dt.UTC).date() if at.tzinfo is not None else at.date()
        daily[(tenant_id, day, course_id or 0, verb)] += 1
        starts = periods.get(day)
        if starts is None:
            starts = periods[day] = (day, week_start(day), month_start(day))
        if verb in ACTIVE_VERBS:
            active.add((tenant_id, person_id, "d", starts[0]))
            active.add((tenant_id, person_id, "w", starts[1]))
            active.add((tenant_id, person_id, "m", starts[2]))
            row = people.get((tenant_id, person_id))
            if row is None:
                people[(tenant_id, person_id)] = [at, starts[1], None, None]
            elif row[0] is None or at < row[0]:
                row[0], row[1] = at, starts[1]
        elif verb == "assigned":
            row = people.get((tenant_id, person_id))
            if row is None:
                people[(tenant_id, person_id)] = [None, None, at, starts[1]]
            elif row[2] is None or at < row[2]:
                row[2], row[3] = at, starts[1]
        if course_id is not None:
            key = (tenant_id, person_id, course_id)
            if verb == "assigned":
                c = course.get(key)
                if c is None:
                    course[key] = [at, at, None, None, None, at + window]
                else:
                    if c[0] is None or at < c[0]:
                        c[0], c[5] = at, at + window
                    if c[1] is None or at > c[1]:
                        c[1] = at
            elif verb == "withdrawn":
                c = course.get(key)
                if c is None:
                    course[key] = [None, None, None, None, at, None]
                elif c[4] is None or at > c[4]:
                    c[4] = at
            elif verb in START_VERBS:
                done = verb == "course_completed"
                c = course.get(key)
                if c is None:
                    course[key] = [None, None, at, at if done else None, None, None]
                else:
                    if c[2] is None or at < c[2]:
                        c[2] = at
                    if done and (c[3] is None or at < c[3]):
                        c[3] = at
        if object_id is not None and verb in ("attempt_submitted", "passed"):
            ckey = (tenant_id, person_id, object_id)
            k = checks.get(ckey)
            if k is None:
                k = checks[ckey] = [course_id, 0, 0, None]
            elif k[0] is None:
                k[0] = course_id
            if verb == "passed":
                k[2] += 1
                if attempt is not None and (k[3] is None or attempt < k[3]):
                    k[3] = attempt
            else:
                k[1] += 1
    return delta


# --- Second level: a CheckFact row's contribution to its CheckCell ------------------------------

CHECK_CELL_COLUMNS = ("people", "passed", "first_try", "pass_attempts")
# Kinds of the dimension check cells (department, location, hire month), with their Dims index.
CHECK_DIM_KINDS = (("d", 0), ("l", 1), ("h", 3))


def check_contribution(row: list[Any] | None) -> tuple[int, tuple[int, int, int, int]] | None:
    """(cell course id, counters) a CheckFact row (CHECK_COLUMNS values) adds to its CheckCell;
    None when it counts nowhere (never attempted). The attempt number of the first pass is
    `first_pass_attempt`, or attempts - passes + 1 when the events carried none (as
    `selectors.check_counts` reads it)."""
    if row is None or not row[1]:
        return None
    course_id, attempts, passes, first = row
    if not passes:
        return course_id or 0, (1, 0, 0, 0)
    if first is None:
        first = attempts - passes + 1
    return course_id or 0, (1, 1, 1 if first == 1 else 0, first)


def check_cell_changes(
    changes: Iterable[tuple[int, int, Any, Any, list[Any] | None, list[Any] | None]],
) -> tuple[dict[tuple[int, int, int], list[int]], dict[tuple[int, str, str, int, int], list[int]]]:
    """Counter changes of the CheckCells and the dimension check cells for CheckFact rows of
    (tenant, check) going from `old` (counted under `old_dims`) to `new` (under `new_dims`),
    given as (tenant, check, old_dims, new_dims, old row or None, new row or None)."""
    cells: dict[tuple[int, int, int], list[int]] = {}
    dim_cells: dict[tuple[int, str, str, int, int], list[int]] = {}
    for tenant_id, activity_id, old_dims, new_dims, old, new in changes:
        for sign, dims, row in ((-1, old_dims, old), (1, new_dims, new)):
            part = check_contribution(row)
            if part is None:
                continue
            course_id, counters = part
            targets: list[list[int]] = [
                cells.setdefault((tenant_id, course_id, activity_id), [0] * 4)
            ]
            for kind, i in CHECK_DIM_KINDS:
                key = (tenant_id, kind, str(dims[i]), course_id, activity_id)
                targets.append(dim_cells.setdefault(key, [0] * 4))
            for acc in targets:
                for j, v in enumerate(counters):
                    acc[j] += sign * v
    return (
        {k: v for k, v in cells.items() if any(v)},
        {k: v for k, v in dim_cells.items() if any(v)},
    )


# --- Second level: a CourseFact row's contribution to the cells (ADR 0014) ---------------------

NO_DUE_DAY = dt.date(9999, 12, 31)  # AssignmentCell.due_day of an assignment without a due date

# A cell: (table, key after (tenant, course)) -> counters. Tables: "a" AssignmentCell (key
# assigned day, due day; counters assigned, started, completed, activated, on time),
# "c" CompletionCell (key completion day; n), "t" DurationCell (key whole hours; n).
CellKey = tuple[str, int, int, Any, Any]


def course_cells(
    tenant_id: int, course_id: int, row: list[Any] | tuple[Any, ...] | None
) -> list[tuple[CellKey, tuple[int, ...]]]:
    """The cells a CourseFact row counts in: its COURSE_COLUMNS values followed by its due
    date. Nothing unless it is a current assignment (docs/metrics.md)."""
    if row is None:
        return []
    first, last, started, completed, withdrawn, deadline, due = row
    if first is None or (withdrawn is not None and not withdrawn < last):
        return []
    did_start = started is not None
    done = completed is not None
    activated = did_start and deadline is not None and started <= deadline
    on_time = due is not None and done and completed <= due
    due_day = NO_DUE_DAY if due is None else _cached_utc_day(due)
    cells: list[tuple[CellKey, tuple[int, ...]]] = [
        (
            ("a", tenant_id, course_id, _cached_utc_day(first), due_day),
            (1, int(did_start), int(done), int(activated), int(on_time)),
        )
    ]
    if done:
        hours = max(0, int((completed - first).total_seconds() // 3600))
        cells.append((("c", tenant_id, course_id, _cached_utc_day(completed), None), (1,)))
        cells.append((("t", tenant_id, course_id, hours, None), (1,)))
    return cells


def cell_changes(
    changes: Iterable[tuple[int, int, Any, Any]],
) -> dict[CellKey, list[int]]:
    """Summed counter changes of the cells for rows going from `old` to `new`, given as
    (tenant, course, old row or None, new row or None); cells whose change is zero are left
    out."""
    out: dict[CellKey, list[int]] = {}
    for tenant_id, course_id, old, new in changes:
        for sign, row in ((-1, old), (1, new)):
            for key, counters in course_cells(tenant_id, course_id, row):
                acc = out.get(key)
                if acc is None:
                    acc = out[key] = [0] * len(counters)
                for i, v in enumerate(counters):
                    acc[i] += sign * v
    return {k: v for k, v in out.items() if any(v)}


# --- People dimensions in cells (ADR 0017) ------------------------------------------------------

# A person's dimension values as counted: department, location, direct manager (id as text),
# hire month ("YYYY-MM"), each "" when none; and whether the person is active (Person.is_active).
Dims = tuple[str, str, str, str, bool]
# Kinds of the assignment cells, in Dims order.
DIM_KINDS = ("d", "l", "m", "h")
# Kinds of the active cells: every grain, everyone (scopes of one department / location / hire
# month) ...
ACTIVE_KINDS = (("d", 0), ("l", 1), ("h", 3))
# ... and weeks only, active people only (the heatmap's rows).
HEATMAP_KINDS = (("D", 0), ("L", 1), ("M", 2))
# A dimension cell: (table, tenant, kind, value, course, key 1, key 2); tables as CellKey's.
DimCellKey = tuple[str, int, str, str, int, Any, Any]


def dims_of(
    department: str | None,
    location: str | None,
    manager_id: int | None,
    hire_date: dt.date | str | None,
    is_active: bool,
) -> Dims:
    """A Person's dimension values (hire_date as a date or its ISO text)."""
    return (
        department or "",
        location or "",
        "" if manager_id is None else str(manager_id),
        "" if not hire_date else str(hire_date)[:7],
        bool(is_active),
    )


def dim_cell_changes(
    changes: Iterable[tuple[int, int, Dims, Dims, Any, Any]],
) -> dict[DimCellKey, list[int]]:
    """Summed counter changes of the dimension cells for CourseFact rows going from `old`
    (counted under `old_dims`) to `new` (under `new_dims`), given as (tenant, course, old_dims,
    new_dims, old row or None, new row or None); zero changes left out."""
    return both_cell_changes(changes, plain=False)[1]


def _add(totals: dict[Any, list[int]], key: Any, counters: tuple[int, ...]) -> None:
    """Add counter changes to the running totals of `key`."""
    acc = totals.get(key)
    if acc is None:
        totals[key] = list(counters)
    else:
        for j, v in enumerate(counters):
            acc[j] += v


def cells_by_dims(
    changes: Iterable[tuple[int, int, Dims, Dims, Any, Any]],
) -> tuple[dict[CellKey, list[int]], dict[tuple[CellKey, tuple[str, ...]], list[int]]]:
    """`cell_changes` of the changes, and their counter changes by cell and by the values of
    the people dimensions they count under (department, location, manager, hire month):
    what `dim_cell_changes` gives once spread over each dimension, left to the database to
    spread and sum (a recompute's 108,000 facts are 430,000 dimension cell changes)."""
    out: dict[CellKey, list[int]] = {}
    by_dims: dict[tuple[CellKey, tuple[str, ...]], list[int]] = {}
    for tenant_id, course_id, old_dims, new_dims, old, new in changes:
        for sign, dims, row in ((-1, old_dims, old), (1, new_dims, new)):
            if row is None:
                continue
            values = tuple(str(dims[i]) for i in range(len(DIM_KINDS)))
            for key, counters in course_cells(tenant_id, course_id, row):
                signed = counters if sign == 1 else tuple(-v for v in counters)
                _add(out, key, signed)
                _add(by_dims, (key, values), signed)
    return {k: v for k, v in out.items() if any(v)}, {k: v for k, v in by_dims.items() if any(v)}


def both_cell_changes(
    changes: Iterable[tuple[int, int, Dims, Dims, Any, Any]], *, plain: bool = True
) -> tuple[dict[CellKey, list[int]], dict[DimCellKey, list[int]]]:
    """`cell_changes` (of the old and new rows, when `plain`) and `dim_cell_changes` of the
    same changes, each row's cells worked out once for both."""
    out: dict[CellKey, list[int]] = {}
    dim_out: dict[DimCellKey, list[int]] = {}
    kinds = tuple(enumerate(DIM_KINDS))
    for tenant_id, course_id, old_dims, new_dims, old, new in changes:
        for sign, dims, row in ((-1, old_dims, old), (1, new_dims, new)):
            if row is None:
                continue
            for key, counters in course_cells(tenant_id, course_id, row):
                signed = counters if sign == 1 else tuple(-v for v in counters)
                if plain:
                    _add(out, key, signed)
                table, _t, _c, k1, k2 = key
                for i, kind in kinds:
                    _add(dim_out, (table, tenant_id, kind, str(dims[i]), course_id, k1, k2), signed)
    return (
        {k: v for k, v in out.items() if any(v)},
        {k: v for k, v in dim_out.items() if any(v)},
    )


def dim_active_changes(
    periods: Iterable[tuple[int, Dims, str, dt.date, int]],
) -> Counter[tuple[int, str, str, str, dt.date]]:
    """Changes of the active cells for person-periods (tenant, dims, grain, start, +1 / -1):
    keys (tenant, kind, value, grain, start)."""
    out: Counter[tuple[int, str, str, str, dt.date]] = Counter()
    for tenant_id, dims, grain, start, sign in periods:
        for kind, i in ACTIVE_KINDS:
            out[(tenant_id, kind, str(dims[i]), grain, start)] += sign
        if grain == "w" and dims[4]:
            for kind, i in HEATMAP_KINDS:
                out[(tenant_id, kind, str(dims[i]), grain, start)] += sign
    return Counter({k: v for k, v in out.items() if v})
