# ruff: noqa: S608 -- SQL text is built only from model metadata and fixed fragments; every
# value is a parameter.
"""Reads for analytics: small aggregates from the rollups (never a scan of the raw events
except `has_event_since`), turned into metrics by `rules`. Every read is tenant-scoped by its
`Scope`; who may see which scope is decided in `uptake.analytics.access`.

SQL is written by hand where the ORM would hide the cost: one statement per figure, the same
text on SQLite and PostgreSQL except the date arithmetic (`_days`, `_week`, `_month`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from uptake.analytics import fold, rules
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
    PendingRollup,
    PersonDims,
    PersonFact,
    RetentionCell,
)
from uptake.core import clock


def still_counting(*, tenant_id: int) -> bool:
    """Whether some of the organisation's events wait for the worker to be counted (a large
    recompute's, ADR 0035): the reports say so instead of silently leaving them out."""
    return PendingRollup.objects.filter(tenant_id=tenant_id).exists()


def has_event_since(*, tenant_id: int, person_id: int, verb: str, since: dt.datetime) -> bool:
    """Whether the person has an event of `verb` at or after `since` (one indexed EXISTS)."""
    return LearningEvent.objects.filter(
        tenant_id=tenant_id, person_id=person_id, verb=verb, occurred_at__gte=since
    ).exists()


# --- Scope -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose numbers: a tenant, optionally narrowed to people (a manager's whole team, an
    audience, a department, a location, a hire month) and to courses (one course, a path)."""

    tenant_id: int
    manager_id: int | None = None
    audience_id: int | None = None
    department: str | None = None
    location: str | None = None
    hire_month: str | None = None  # "YYYY-MM"
    course_id: int | None = None
    path_id: int | None = None
    # The manager's team, when known (see with_team): small teams filter by id.
    team: tuple[int, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def people_filtered(self) -> bool:
        return any(
            v is not None
            for v in (
                self.manager_id,
                self.audience_id,
                self.department,
                self.location,
                self.hire_month,
            )
        )

    def as_params(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "manager_id": self.manager_id,
                "audience_id": self.audience_id,
                "department": self.department,
                "location": self.location,
                "hire_month": self.hire_month,
                "course_id": self.course_id,
                "path_id": self.path_id,
            }.items()
            if v is not None
        }


def _t(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _tables() -> dict[str, str]:
    from uptake.audiences.models import AudienceMembership
    from uptake.enrollment.models import Enrollment
    from uptake.paths.models import PathStep
    from uptake.people.models import Person

    return {
        "cf": _t(CourseFact),
        "pf": _t(PersonFact),
        "ap": _t(ActivePeriod),
        "ac": _t(ActiveCount),
        "ck": _t(CheckFact),
        "ckcell": _t(CheckCell),
        "dimckcell": _t(DimCheckCell),
        "dc": _t(DailyCount),
        "cell": _t(AssignmentCell),
        "ccell": _t(CompletionCell),
        "dcell": _t(DurationCell),
        "rcell": _t(RetentionCell),
        "pd": _t(PersonDims),
        "dimcell": _t(DimAssignmentCell),
        "dimccell": _t(DimCompletionCell),
        "dimdcell": _t(DimDurationCell),
        "dimactive": _t(DimActiveCell),
        "dimretention": _t(DimRetentionCell),
        "person": _t(Person),
        "enr": _t(Enrollment),
        "member": _t(AudienceMembership),
        "step": _t(PathStep),
    }


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _days(start: str, end: str) -> str:
    """Days (fractional) from `start` to `end`."""
    if _pg():
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0)"
    return f"(julianday({end}) - julianday({start}))"


def _week(col: str) -> str:
    """The Monday (UTC) of the ISO week of a datetime column."""
    if _pg():
        return f"CAST(date_trunc('week', {col} AT TIME ZONE 'UTC') AS date)"
    return f"date({col}, 'weekday 0', '-6 days')"


def _month(col: str) -> str:
    if _pg():
        return f"to_char({col}, 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {col})"


def _by_person(scope: Scope, col: str) -> str:
    """`col` as written in a condition on a small team's rows: on SQLite, a unary plus stops
    the planner from scanning a date range of everyone (it then reads each person's rows by
    the per-person index); PostgreSQL's planner needs no hint."""
    if scope.team is not None and not _pg():
        return f"+{col}"
    return col


def _no_index(col: str) -> str:
    """`col` in a condition over many people's rows: on SQLite, not through the (tenant,
    first_assigned_at) / (tenant, due_at) indexes, which are for a day's rows (reading most of
    the table through them is slower than scanning it)."""
    return col if _pg() else f"+{col}"


def _dtp(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _dp(value: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


TEAM_AS_IDS = 5000  # a team up to this size filters by its ids, a larger one by a recursive query


def with_team(scope: Scope) -> Scope:
    """The scope with its manager's team resolved to ids (one query per level), when small."""
    from dataclasses import replace

    from uptake.people.models import Person

    if scope.manager_id is None:
        return scope
    seen = {scope.manager_id}
    team: list[int] = []
    level = [scope.manager_id]
    while level:
        found: list[int] = []
        for chunk in range(0, len(level), 5000):
            # is_active is checked here, not in SQL, so that the (tenant, manager) index is
            # the one used; no ORDER BY (Person's default ordering would sort every level).
            found.extend(
                pk
                for pk, active in Person.objects.filter(
                    tenant_id=scope.tenant_id, manager_id__in=level[chunk : chunk + 5000]
                )
                .order_by()
                .values_list("pk", "is_active")
                if active
            )
        level = [pk for pk in found if pk not in seen]
        seen.update(level)
        team.extend(level)
        if len(team) > TEAM_AS_IDS:
            return scope
    return replace(scope, team=tuple(sorted(team)))


def person_filter(scope: Scope, col: str) -> tuple[str, list[Any]]:
    """SQL (" AND ...") keeping rows whose person column `col` is in the scope's people."""
    t = _tables()
    sql = ""
    params: list[Any] = []
    if scope.manager_id is not None and scope.team is not None:
        if not scope.team:
            return " AND 1 = 0", []
        sql += f" AND {col} IN ({', '.join(['%s'] * len(scope.team))})"
        params += list(scope.team)
    elif scope.manager_id is not None:
        # The whole team: active people anywhere below the manager (as team_members walks it).
        sql += (
            f" AND {col} IN (WITH RECURSIVE team(id) AS ("
            f"SELECT id FROM {t['person']} WHERE tenant_id = %s AND manager_id = %s "
            f"AND is_active = %s UNION SELECT p.id FROM {t['person']} p JOIN team "
            f"ON p.manager_id = team.id WHERE p.tenant_id = %s AND p.is_active = %s) "
            f"SELECT id FROM team)"
        )
        params += [scope.tenant_id, scope.manager_id, True, scope.tenant_id, True]
    if scope.audience_id is not None:
        sql += (
            f" AND {col} IN (SELECT person_id FROM {t['member']} "
            f"WHERE tenant_id = %s AND audience_id = %s)"
        )
        params += [scope.tenant_id, scope.audience_id]
    for attr in ("department", "location"):
        value = getattr(scope, attr)
        if value is not None:
            sql += (
                f" AND {col} IN (SELECT id FROM {t['person']} WHERE tenant_id = %s AND {attr} = %s)"
            )
            params += [scope.tenant_id, value]
    if scope.hire_month is not None:
        sql += (
            f" AND {col} IN (SELECT id FROM {t['person']} WHERE tenant_id = %s "
            f"AND {_month('hire_date')} = %s)"
        )
        params += [scope.tenant_id, scope.hire_month]
    return sql, params


def course_filter(scope: Scope, col: str) -> tuple[str, list[Any]]:
    t = _tables()
    sql = ""
    params: list[Any] = []
    if scope.course_id is not None:
        sql += f" AND {col} = %s"
        params.append(scope.course_id)
    if scope.path_id is not None:
        sql += (
            f" AND {col} IN (SELECT course_id FROM {t['step']} "
            f"WHERE tenant_id = %s AND path_id = %s)"
        )
        params += [scope.tenant_id, scope.path_id]
    return sql, params


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


# --- Assignments: activation, funnel, completion, compliance ------------------------------------

# "Assigned" is tested on last_assigned_at (set together with first_assigned_at) so that the
# (tenant, first_assigned_at) index, meant for a day's rows, is not taken to scan everyone.
_CURRENT = (
    "cf.tenant_id = %s AND cf.last_assigned_at IS NOT NULL "
    "AND (cf.last_withdrawn_at IS NULL OR cf.last_withdrawn_at < cf.last_assigned_at)"
)


def _counts_select(now: dt.datetime) -> tuple[str, list[Any]]:
    cut = _dtp(now - dt.timedelta(days=rules.ACTIVATION_DAYS))
    nowp = _dtp(now)
    sql = (
        "COUNT(*), "
        "SUM(CASE WHEN cf.started_at IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cf.completed_at IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cf.first_assigned_at <= %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cf.first_assigned_at <= %s "
        "AND cf.started_at <= cf.activation_deadline THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cf.due_at IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cf.due_at IS NOT NULL AND cf.completed_at IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cf.due_at IS NOT NULL AND (cf.due_at < %s OR cf.completed_at IS NOT NULL) "
        "THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cf.due_at IS NOT NULL AND cf.completed_at IS NOT NULL "
        "AND cf.completed_at <= cf.due_at THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN cf.due_at IS NOT NULL AND cf.due_at < %s AND cf.completed_at IS NULL "
        "THEN 1 ELSE 0 END)"
    )
    return sql, [cut, cut, nowp, nowp]


def _counts(row: tuple[Any, ...]) -> rules.AssignmentCounts:
    return rules.AssignmentCounts(*(int(v or 0) for v in row))


def _from_current(scope: Scope, extra_join: str = "") -> tuple[str, list[Any]]:
    t = _tables()
    psql, pparams = person_filter(scope, "cf.person_id")
    csql, cparams = course_filter(scope, "cf.course_id")
    sql = f" FROM {t['cf']} cf{extra_join} WHERE {_CURRENT}{psql}{csql}"
    return sql, [scope.tenant_id, *pparams, *cparams]


# --- From the cells (organisation-wide, a course, a path: no filter on people; ADR 0014) -----


def uses_cells(scope: Scope) -> bool:
    """Whether the scope's assignment figures come from the cells: no filter on people, or
    one department / location / hire month (the dimension cells, ADR 0017)."""
    return not scope.people_filtered or scope_dim(scope) is not None


def _utc(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC) if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def cell_grid(
    *, scope: Scope, now: dt.datetime | None = None
) -> dict[tuple[int, dt.date], rules.AssignmentCounts]:
    """Assignment counts per (course, UTC day of first assignment), from the cells (the
    dimension cells for a scope of one department / location / hire month), exact at `now`:
    whole days come from the cells; the day in which the 7-day activation window ends and the
    due dates falling today are read from CourseFact (indexed, a day's rows)."""
    return _grid(scope=scope, now=now, by_kind=None)  # type: ignore[return-value]


# Scope attribute -> (dimension kind, PersonDims column) (ADR 0017).
_SCOPE_DIMS = {"department": "d", "location": "l", "hire_month": "h"}
# Breakdown -> dimension kind.
BREAKDOWN_KINDS = {"department": "d", "location": "l", "manager": "m", "hire_month": "h"}
_DIM_COLUMN = {"d": "department", "l": "location", "m": "manager", "h": "hire_month"}


def scope_dim(scope: Scope) -> tuple[str, str] | None:
    """(kind, value) when the scope's only filter on people is one department, location or
    hire month: its figures come from the dimension cells."""
    if scope.manager_id is not None or scope.audience_id is not None:
        return None
    found = [
        (k, getattr(scope, a)) for a, k in _SCOPE_DIMS.items() if getattr(scope, a) is not None
    ]
    return found[0] if len(found) == 1 else None


def _grid(
    *, scope: Scope, now: dt.datetime | None, by_kind: str | None
) -> dict[Any, rules.AssignmentCounts]:
    """Counts from the cells, keyed by (course, assigned day), or by dimension value when
    `by_kind` (a breakdown of a scope without a filter on people)."""
    t = _tables()
    now = _utc(now or clock.now())
    today = now.date()
    cut = now - dt.timedelta(days=rules.ACTIVATION_DAYS)
    cut_day = cut.date()
    csql, cparams = course_filter(scope, "course_id")
    dim = (by_kind, None) if by_kind is not None else scope_dim(scope)
    if dim is None:
        table, where, wparams = t["cell"], "", []
    else:
        table, where, wparams = t["dimcell"], " AND kind = %s", [dim[0]]
        if dim[1] is not None:
            where += " AND value = %s"
            wparams.append(dim[1])
    key = "value" if by_kind is not None else "course_id, assigned_day"
    rows = _fetch(
        f"SELECT {key}, SUM(assigned), SUM(started), SUM(completed), "
        "SUM(CASE WHEN assigned_day < %s THEN assigned ELSE 0 END), "
        "SUM(CASE WHEN assigned_day < %s THEN activated ELSE 0 END), "
        "SUM(CASE WHEN due_day <> %s THEN assigned ELSE 0 END), "
        "SUM(CASE WHEN due_day <> %s THEN completed ELSE 0 END), "
        "SUM(on_time), "
        "SUM(CASE WHEN due_day < %s THEN assigned - completed ELSE 0 END) "
        f"FROM {table} WHERE tenant_id = %s{where}{csql} GROUP BY {key}",
        [
            _dp(cut_day),
            _dp(cut_day),
            _dp(fold.NO_DUE_DAY),
            _dp(fold.NO_DUE_DAY),
            _dp(today),
            scope.tenant_id,
            *wparams,
            *cparams,
        ],
    )
    grid: dict[Any, list[int]] = {}
    for *keys, assigned, started, done, elig, act, with_due, due_done, on_time, late in rows:
        k: Any = keys[0] if by_kind is not None else (int(keys[0]), _as_date(keys[1]))
        due_done, late = int(due_done or 0), int(late or 0)
        # AssignmentCounts' order; due_closed = due_completed + overdue.
        grid[k] = [
            int(assigned or 0),
            int(started or 0),
            int(done or 0),
            int(elig or 0),
            int(act or 0),
            int(with_due or 0),
            due_done,
            due_done + late,
            int(on_time or 0),
            late,
        ]
    # The partial days are read through the day indexes (not the tenant's: "+" on SQLite,
    # whose planner has no statistics to choose by).
    by_day = _CURRENT.replace("cf.tenant_id", _no_index("cf.tenant_id"), 1)
    csql2, cparams2 = course_filter(scope, "cf.course_id")
    join, jsql, jparams, vcol = "", "", [], "NULL"
    if dim is not None:
        column = f"pd.{connection.ops.quote_name(_DIM_COLUMN[dim[0]])}"
        join = f" JOIN {t['pd']} pd ON pd.tenant_id = cf.tenant_id AND pd.person_id = cf.person_id"
        vcol = column
        if dim[1] is not None:
            jsql, jparams = f" AND {column} = %s", [dim[1]]

    def cell_of(course_id: Any, day: dt.date, value: Any) -> list[int]:
        k: Any = value if by_kind is not None else (int(course_id), day)
        return grid.setdefault(k, [0] * 10)

    # The activation window's partial day: assigned on cut_day, at or before the cut.
    for course_id, activated, value in _fetch(
        f"SELECT cf.course_id, CASE WHEN cf.started_at <= cf.activation_deadline THEN 1 ELSE 0 "
        f"END, {vcol} FROM {t['cf']} cf{join} WHERE {by_day} AND cf.first_assigned_at >= %s "
        f"AND cf.first_assigned_at <= %s{csql2}{jsql}",
        [scope.tenant_id, _dtp(_midnight(cut_day)), _dtp(cut), *cparams2, *jparams],
    ):
        row = cell_of(course_id, cut_day, value)
        row[3] += 1
        row[4] += int(activated or 0)
    # Due today, before now, not completed: overdue (and closed).
    for course_id, first, value in _fetch(
        f"SELECT cf.course_id, cf.first_assigned_at, {vcol} FROM {t['cf']} cf{join} "
        f"WHERE {by_day} AND cf.due_at >= %s AND cf.due_at < %s "
        f"AND cf.completed_at IS NULL{csql2}{jsql}",
        [scope.tenant_id, _dtp(_midnight(today)), _dtp(now), *cparams2, *jparams],
    ):
        moment = _as_datetime(first)
        assert moment is not None
        row = cell_of(course_id, moment.astimezone(dt.UTC).date(), value)
        row[7] += 1
        row[9] += 1
    return {k: rules.AssignmentCounts(*v) for k, v in grid.items()}


Grid = dict[tuple[int, dt.date], rules.AssignmentCounts]


def total(grid: Grid) -> rules.AssignmentCounts:
    """All of a grid's counts added up."""
    return _total(grid.values())


def _total(counts: Any) -> rules.AssignmentCounts:
    total = rules.AssignmentCounts()
    for c in counts:
        total = total + c
    return total


def assignment_counts(*, scope: Scope, now: dt.datetime | None = None) -> rules.AssignmentCounts:
    if uses_cells(scope):
        return _total(cell_grid(scope=scope, now=now).values())
    select, sparams = _counts_select(now or clock.now())
    frm, fparams = _from_current(scope)
    rows = _fetch(f"SELECT {select}{frm}", [*sparams, *fparams])
    return _counts(rows[0])


BREAKDOWNS = ("course", "department", "location", "manager", "hire_month", "audience", "path")


def breakdown(
    *, scope: Scope, by: str, now: dt.datetime | None = None, grid: Grid | None = None
) -> list[tuple[Any, rules.AssignmentCounts]]:
    """Assignment counts per value of `by` (one of BREAKDOWNS), largest first. `grid`: the
    scope's cell_grid at `now` when the caller has it already."""
    t = _tables()
    join = ""
    if by in ("course", "path") and uses_cells(scope):
        return _breakdown_from_cells(scope=scope, by=by, now=now, grid=grid)
    if by in BREAKDOWN_KINDS and not scope.people_filtered:
        return _breakdown_by_dimension(scope=scope, kind=BREAKDOWN_KINDS[by], now=now)
    if by == "course":
        key = "cf.course_id"
    elif by in ("department", "location", "manager", "hire_month"):
        join = f" JOIN {t['person']} p ON p.id = cf.person_id"
        key = {
            "department": "p.department",
            "location": "p.location",
            "manager": "p.manager_id",
            "hire_month": _month("p.hire_date"),
        }[by]
    elif by == "audience":
        join = f" JOIN {t['member']} m ON m.person_id = cf.person_id AND m.tenant_id = cf.tenant_id"
        key = "m.audience_id"
    elif by == "path":
        join = f" JOIN {t['step']} s ON s.course_id = cf.course_id AND s.tenant_id = cf.tenant_id"
        key = "s.path_id"
    else:
        raise ValueError(by)
    select, sparams = _counts_select(now or clock.now())
    frm, fparams = _from_current(scope, extra_join=join)
    rows = _fetch(
        f"SELECT {key}, {select}{frm} GROUP BY {key}",
        [*sparams, *fparams],
    )
    out = [(row[0], _counts(row[1:])) for row in rows]
    out.sort(key=lambda kv: (-kv[1].assigned, str(kv[0])))
    return out


def _breakdown_by_dimension(
    *, scope: Scope, kind: str, now: dt.datetime | None
) -> list[tuple[Any, rules.AssignmentCounts]]:
    """A breakdown by department / location / direct manager / hire month from the dimension
    cells; keys as the person-grain query gives them (manager id, None for no manager or no
    hire date)."""
    out: list[tuple[Any, rules.AssignmentCounts]] = []
    for value, c in _grid(scope=scope, now=now, by_kind=kind).items():
        if not c.assigned:
            continue
        key: Any = value
        if kind == "m":
            key = int(value) if value else None
        elif kind == "h":
            key = value or None
        out.append((key, c))
    out.sort(key=lambda kv: (-kv[1].assigned, str(kv[0])))
    return out


def _breakdown_from_cells(
    *, scope: Scope, by: str, now: dt.datetime | None, grid: Grid | None
) -> list[tuple[Any, rules.AssignmentCounts]]:
    per_course: dict[int, rules.AssignmentCounts] = {}
    if grid is None:
        grid = cell_grid(scope=scope, now=now)
    for (course_id, _day), c in grid.items():
        per_course[course_id] = per_course.get(course_id, rules.AssignmentCounts()) + c
    if by == "course":
        out: list[tuple[Any, rules.AssignmentCounts]] = list(per_course.items())
    else:
        t = _tables()
        per_path: dict[Any, rules.AssignmentCounts] = {}
        # A course in two paths counts in both (docs/metrics.md); DISTINCT as the join's
        # GROUP BY would count a course listed twice in one path once per step.
        for path_id, course_id in _fetch(
            f"SELECT path_id, course_id FROM {t['step']} WHERE tenant_id = %s",
            [scope.tenant_id],
        ):
            if course_id in per_course:
                per_path[path_id] = (
                    per_path.get(path_id, rules.AssignmentCounts()) + per_course[course_id]
                )
        out = list(per_path.items())
    out = [(k, c) for k, c in out if c.assigned]
    out.sort(key=lambda kv: (-kv[1].assigned, str(kv[0])))
    return out


def cohort_trend(
    *, scope: Scope, since: dt.date, now: dt.datetime | None = None, grid: Grid | None = None
) -> list[tuple[dt.date, rules.AssignmentCounts]]:
    """Assignment counts per week of first assignment (the assignment cohort), from `since`.
    `grid`: the scope's cell_grid at `now` when the caller has it already."""
    if uses_cells(scope):
        weeks: dict[dt.date, rules.AssignmentCounts] = {}
        if grid is None:
            grid = cell_grid(scope=scope, now=now)
        for (_course, day), c in grid.items():
            if day >= since:
                w = fold.week_start(day)
                weeks[w] = weeks.get(w, rules.AssignmentCounts()) + c
        return sorted(weeks.items())
    select, sparams = _counts_select(now or clock.now())
    frm, fparams = _from_current(scope)
    week = _week("cf.first_assigned_at")
    rows = _fetch(
        f"SELECT {week}, {select}{frm} AND {_no_index('cf.first_assigned_at')} >= %s "
        f"GROUP BY {week}",
        [*sparams, *fparams, _dtp(dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))],
    )
    return sorted((_as_date(r[0]), _counts(r[1:])) for r in rows)


def _cell_table(scope: Scope, plain: str, by_dim: str) -> tuple[str, str, list[Any]]:
    """The cell table of a scope using the cells, and its condition on the dimension."""
    dim = scope_dim(scope)
    if dim is None:
        return plain, "", []
    return by_dim, " AND kind = %s AND value = %s", list(dim)


def completions_per_week(*, scope: Scope, since: dt.date) -> dict[dt.date, int]:
    if uses_cells(scope):
        t = _tables()
        table, dsql, dparams = _cell_table(scope, t["ccell"], t["dimccell"])
        csql, cparams = course_filter(scope, "course_id")
        out: dict[dt.date, int] = defaultdict(int)
        for day, n in _fetch(
            f"SELECT day, SUM(n) FROM {table} WHERE tenant_id = %s{dsql} AND day >= %s{csql} "
            "GROUP BY day",
            [scope.tenant_id, *dparams, _dp(since), *cparams],
        ):
            out[fold.week_start(_as_date(day))] += int(n or 0)
        return {w: n for w, n in out.items() if n}
    frm, fparams = _from_current(scope)
    week = _week("cf.completed_at")
    rows = _fetch(
        f"SELECT {week}, COUNT(*){frm} AND cf.completed_at >= %s GROUP BY {week}",
        [*fparams, _dtp(dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))],
    )
    return {_as_date(w): int(n) for w, n in rows}


def median_days_to_complete(*, scope: Scope) -> float | None:
    """Median of the whole hours from first assignment to completion, in days, over the
    completed current assignments (docs/metrics.md)."""
    hist: dict[int, int] = defaultdict(int)
    if uses_cells(scope):
        t = _tables()
        table, dsql, dparams = _cell_table(scope, t["dcell"], t["dimdcell"])
        csql, cparams = course_filter(scope, "course_id")
        for hours, n in _fetch(
            f"SELECT hours, SUM(n) FROM {table} WHERE tenant_id = %s{dsql}{csql} GROUP BY hours",
            [scope.tenant_id, *dparams, *cparams],
        ):
            hist[int(hours)] += int(n or 0)
    else:
        frm, fparams = _from_current(scope)
        for first, done in _fetch(
            f"SELECT cf.first_assigned_at, cf.completed_at{frm} AND cf.completed_at IS NOT NULL",
            fparams,
        ):
            a, c = _as_datetime(first), _as_datetime(done)
            assert a is not None and c is not None
            hist[max(0, int((c - a).total_seconds() // 3600))] += 1
    median_hours = rules.median_of_counts(hist)
    return None if median_hours is None else median_hours / 24


def days_to_complete_moments(*, scope: Scope) -> tuple[int, float, float]:
    """(count, sum, sum of squares) of `days_to_complete`, summed in the database."""
    frm, fparams = _from_current(scope)
    raw = _days("cf.first_assigned_at", "cf.completed_at")
    days = f"(CASE WHEN {raw} > 0 THEN {raw} ELSE 0 END)"
    n, total, squares = _fetch(
        f"SELECT COUNT(*), SUM({days}), SUM({days} * {days}){frm} AND cf.completed_at IS NOT NULL",
        fparams,
    )[0]
    return int(n or 0), float(total or 0), float(squares or 0)


def days_to_complete(*, scope: Scope) -> list[float]:
    """Days from first assignment to completion, per completed current assignment (>= 0)."""
    frm, fparams = _from_current(scope)
    days = _days("cf.first_assigned_at", "cf.completed_at")
    rows = _fetch(f"SELECT {days}{frm} AND cf.completed_at IS NOT NULL", fparams)
    return [max(0.0, float(d)) for (d,) in rows]


# --- Active users ------------------------------------------------------------------------------


def active_series(*, scope: Scope, grain: str, since: dt.date) -> dict[dt.date, int]:
    """People active per day / week / month (grain "d" / "w" / "m") from `since`."""
    t = _tables()
    dim = scope_dim(scope)
    if not scope.people_filtered:
        rows = _fetch(
            f"SELECT start, people FROM {t['ac']} WHERE tenant_id = %s AND grain = %s "
            "AND start >= %s",
            [scope.tenant_id, grain, _dp(since)],
        )
    elif dim is not None:
        rows = _fetch(
            f"SELECT start, people FROM {t['dimactive']} WHERE tenant_id = %s AND kind = %s "
            "AND grain = %s AND start >= %s AND value = %s",
            [scope.tenant_id, dim[0], grain, _dp(since), dim[1]],
        )
    else:
        psql, pparams = person_filter(scope, "ap.person_id")
        rows = _fetch(
            f"SELECT ap.start, COUNT(*) FROM {t['ap']} ap WHERE ap.tenant_id = %s "
            f"AND {_by_person(scope, 'ap.grain')} = %s AND ap.start >= %s{psql} "
            "GROUP BY ap.start",
            [scope.tenant_id, grain, _dp(since), *pparams],
        )
    return {_as_date(s): int(n) for s, n in rows}


def active_users(*, scope: Scope, today: dt.date | None = None) -> rules.ActiveUsers:
    today = today or clock.now().date()
    since = rules.last_complete_month(today)
    return rules.active_users(
        today=today,
        daily=active_series(scope=scope, grain="d", since=since),
        weekly=active_series(scope=scope, grain="w", since=rules.last_complete_week(today)),
        monthly=active_series(scope=scope, grain="m", since=since),
    )


# --- Retention ---------------------------------------------------------------------------------


def retention_cells(
    *, scope: Scope, cohort: str, since: dt.date
) -> tuple[dict[tuple[dt.date, dt.date], int], dict[dt.date, int]]:
    """(cells, sizes) for rules.retention_curves. `cohort` "active": people by the week of
    their first activity; "assigned": by the week of their first assignment (the cohort
    retention curves). Only cohorts from `since`."""
    t = _tables()
    col = "pf.first_active_week" if cohort == "active" else "pf.first_assigned_week"
    psql, pparams = person_filter(scope, "pf.person_id")
    if not scope.people_filtered:
        # The whole organisation: the retention cells; a cohort's size is its week-0 cell
        # (everyone is active in their first active week; not so for the week first assigned).
        kind = "s" if cohort == "active" else "a"
        rows = _fetch(
            f"SELECT cohort_week, week, people FROM {t['rcell']} WHERE tenant_id = %s "
            "AND cohort_kind = %s AND cohort_week >= %s AND people <> 0",
            [scope.tenant_id, kind, _dp(since)],
        )
        cells_only = {(_as_date(c), _as_date(w)): int(n) for c, w, n in rows}
        if cohort == "active":
            sizes_only = {c: n for (c, w), n in cells_only.items() if c == w}
        else:
            sizes_only = {
                _as_date(c): int(n)
                for c, n in _fetch(
                    f"SELECT {col}, COUNT(*) FROM {t['pf']} pf WHERE pf.tenant_id = %s "
                    f"AND {col} >= %s GROUP BY {col}",
                    [scope.tenant_id, _dp(since)],
                )
            }
        return cells_only, sizes_only
    dim = scope_dim(scope)
    if dim is not None:
        # One department / location / hire month: the dimension retention cells (ADR 0017).
        kind = "s" if cohort == "active" else "a"
        rows = _fetch(
            f"SELECT cohort_week, week, people FROM {t['dimretention']} WHERE tenant_id = %s "
            "AND kind = %s AND value = %s AND cohort_kind = %s AND cohort_week >= %s "
            "AND people <> 0",
            [scope.tenant_id, dim[0], dim[1], kind, _dp(since)],
        )
        dcells = {(_as_date(c), _as_date(w)): int(n) for c, w, n in rows}
        if cohort == "active":
            return dcells, {c: n for (c, w), n in dcells.items() if c == w}
        column = connection.ops.quote_name(_DIM_COLUMN[dim[0]])
        sizes_dim = _fetch(
            f"SELECT {col}, COUNT(*) FROM {t['pf']} pf JOIN {t['pd']} pd "
            f"ON pd.tenant_id = pf.tenant_id AND pd.person_id = pf.person_id "
            f"WHERE pf.tenant_id = %s AND pd.{column} = %s AND {col} >= %s GROUP BY {col}",
            [scope.tenant_id, dim[1], _dp(since)],
        )
        return dcells, {_as_date(c): int(n) for c, n in sizes_dim}
    sizes = _fetch(
        f"SELECT {col}, COUNT(*) FROM {t['pf']} pf WHERE pf.tenant_id = %s "
        f"AND {col} >= %s{psql} GROUP BY {col}",
        [scope.tenant_id, _dp(since), *pparams],
    )
    cells = _fetch(
        f"SELECT {col}, ap.start, COUNT(*) FROM {t['pf']} pf JOIN {t['ap']} ap "
        f"ON ap.tenant_id = pf.tenant_id AND ap.person_id = pf.person_id AND ap.grain = 'w' "
        f"AND ap.start >= {col} WHERE pf.tenant_id = %s AND {col} >= %s{psql} "
        f"GROUP BY {col}, ap.start",
        [scope.tenant_id, _dp(since), *pparams],
    )
    return (
        {(_as_date(c), _as_date(w)): int(n) for c, w, n in cells},
        {_as_date(c): int(n) for c, n in sizes},
    )


def retention(
    *, scope: Scope, cohort: str = "active", weeks: int = 12, today: dt.date | None = None
) -> list[rules.RetentionCurve]:
    today = today or clock.now().date()
    start = today - dt.timedelta(days=today.weekday(), weeks=weeks)
    cells, sizes = retention_cells(scope=scope, cohort=cohort, since=start)
    return rules.retention_curves(cells=cells, sizes=sizes, today=today, weeks=weeks)


# --- Heatmap -----------------------------------------------------------------------------------

HEATMAP_ROWS = ("department", "location", "manager")


def heatmap(
    *, scope: Scope, rows_by: str = "department", weeks: int = 12, today: dt.date | None = None
) -> tuple[list[dt.date], list[tuple[Any, list[float | None]]], dict[Any, int]]:
    """(weeks, rows, headcount): share of each team's active people active in each of the last
    `weeks` complete ISO weeks. A team is a department, a location or a direct manager."""
    if rows_by not in HEATMAP_ROWS:
        raise ValueError(rows_by)
    t = _tables()
    today = today or clock.now().date()
    last = rules.last_complete_week(today)
    week_list = [last - dt.timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    key = {"department": "p.department", "location": "p.location", "manager": "p.manager_id"}[
        rows_by
    ]
    psql, pparams = person_filter(scope, "p.id")
    tenant_col = _by_person(scope, "p.tenant_id")
    heads = _fetch(
        f"SELECT {key}, COUNT(*) FROM {t['person']} p WHERE {tenant_col} = %s "
        f"AND p.is_active = %s{psql} GROUP BY {key}",
        [scope.tenant_id, True, *pparams],
    )
    headcount = {k: int(n) for k, n in heads if k not in (None, "")}
    if not scope.people_filtered:
        # The dimension cells of active people (ADR 0017).
        kind = {"department": "D", "location": "L", "manager": "M"}[rows_by]
        active = {}
        for value, w, n in _fetch(
            f"SELECT value, start, people FROM {t['dimactive']} WHERE tenant_id = %s "
            "AND kind = %s AND grain = 'w' AND start >= %s AND start <= %s AND people <> 0",
            [scope.tenant_id, kind, _dp(week_list[0]), _dp(last)],
        ):
            k: Any = (int(value) if value else None) if rows_by == "manager" else value
            if k in headcount:
                active[(k, _as_date(w))] = int(n)
        grid = rules.heatmap(active=active, headcount=headcount, weeks=week_list)
        return week_list, grid, headcount
    apsql, apparams = ("", []) if scope.team is None else person_filter(scope, "ap.person_id")
    grain = _by_person(scope, "ap.grain")
    active_rows = _fetch(
        f"SELECT {key}, ap.start, COUNT(*) FROM {t['ap']} ap JOIN {t['person']} p "
        f"ON p.id = ap.person_id WHERE ap.tenant_id = %s AND {grain} = 'w' AND ap.start >= %s "
        f"AND ap.start <= %s AND p.is_active = %s{psql}{apsql} GROUP BY {key}, ap.start",
        [scope.tenant_id, _dp(week_list[0]), _dp(last), True, *pparams, *apparams],
    )
    active = {(k, _as_date(w)): int(n) for k, w, n in active_rows if k in headcount}
    return week_list, rules.heatmap(active=active, headcount=headcount, weeks=week_list), headcount


# --- Knowledge checks --------------------------------------------------------------------------


_CHECK_SUMS = "SUM(people), SUM(passed), SUM(first_try), SUM(pass_attempts)"


def _check_cells(scope: Scope) -> tuple[str, str, list[Any]] | None:
    """The check cell table of a scope without a filter on people (CheckCell) or with one
    department / location / hire month (DimCheckCell), its conditions and their parameters;
    None for other scopes (teams, audiences), which sum their people's CheckFact rows."""
    t = _tables()
    dparams: list[Any] = []
    if not scope.people_filtered:
        table, dsql = t["ckcell"], ""
    elif scope_dim(scope) is not None:
        table, dsql, dparams = _cell_table(scope, t["ckcell"], t["dimckcell"])
    else:
        return None
    csql, cparams = course_filter(scope, "course_id")
    return table, f"tenant_id = %s{dsql}{csql}", [scope.tenant_id, *dparams, *cparams]


def check_counts(*, scope: Scope) -> rules.CheckCounts:
    t = _tables()
    cells = _check_cells(scope)
    if cells is not None:  # one row per check, not per person
        table, where, params = cells
        row = _fetch(f"SELECT {_CHECK_SUMS} FROM {table} WHERE {where}", params)[0]
        return rules.CheckCounts(*(int(v or 0) for v in row))
    psql, pparams = person_filter(scope, "ck.person_id")
    csql, cparams = course_filter(scope, "ck.course_id")
    row = _fetch(
        "SELECT COUNT(*), SUM(CASE WHEN ck.passes > 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN ck.passes > 0 AND COALESCE(ck.first_pass_attempt, "
        "ck.attempts - ck.passes + 1) = 1 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN ck.passes > 0 THEN COALESCE(ck.first_pass_attempt, "
        "ck.attempts - ck.passes + 1) ELSE 0 END) "
        f"FROM {t['ck']} ck WHERE {_by_person(scope, 'ck.tenant_id')} = %s "
        f"AND ck.attempts > 0{psql}{csql}",
        [scope.tenant_id, *pparams, *cparams],
    )[0]
    return rules.CheckCounts(*(int(v or 0) for v in row))


def hardest_checks(*, scope: Scope, limit: int = 10) -> list[tuple[int, rules.CheckCounts]]:
    """Knowledge checks with the lowest first-attempt pass rate (at least 5 people)."""
    cells = _check_cells(scope)
    if cells is not None:
        table, where, params = cells
        rows = _fetch(
            f"SELECT activity_id, {_CHECK_SUMS} FROM {table} WHERE {where} "
            "GROUP BY activity_id HAVING SUM(people) >= 5",
            params,
        )
    else:
        rows = _hardest_from_facts(scope)
    out = [(int(r[0]), rules.CheckCounts(*(int(v or 0) for v in r[1:]))) for r in rows]
    out.sort(key=lambda kv: (kv[1].first_try / kv[1].people, kv[0]))
    return out[:limit]


def _hardest_from_facts(scope: Scope) -> list[tuple[Any, ...]]:
    t = _tables()
    psql, pparams = person_filter(scope, "ck.person_id")
    csql, cparams = course_filter(scope, "ck.course_id")
    return _fetch(
        "SELECT ck.activity_id, COUNT(*), SUM(CASE WHEN ck.passes > 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN ck.passes > 0 AND COALESCE(ck.first_pass_attempt, "
        "ck.attempts - ck.passes + 1) = 1 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN ck.passes > 0 THEN COALESCE(ck.first_pass_attempt, "
        "ck.attempts - ck.passes + 1) ELSE 0 END) "
        f"FROM {t['ck']} ck WHERE {_by_person(scope, 'ck.tenant_id')} = %s "
        f"AND ck.attempts > 0{psql}{csql} "
        "GROUP BY ck.activity_id HAVING COUNT(*) >= 5",
        [scope.tenant_id, *pparams, *cparams],
    )


@dataclass(frozen=True)
class QuestionStat:
    question_id: int
    prompt: str
    answered: int
    wrong: int

    @property
    def wrong_rate(self) -> float | None:
        return rules.rate(self.wrong, self.answered)


def hardest_questions(*, tenant_id: int, activity_id: int, limit: int = 10) -> list[QuestionStat]:
    """The check's questions by share of wrong answers over every attempt (reads the attempts
    of one check: per-question results are not in the event stream)."""
    from uptake.catalog.models import Question
    from uptake.progress.models import Attempt

    answered: dict[str, int] = defaultdict(int)
    wrong: dict[str, int] = defaultdict(int)
    for results in Attempt.objects.filter(tenant_id=tenant_id, activity_id=activity_id).values_list(
        "results", flat=True
    ):
        for qid, result in (results or {}).items():
            answered[qid] += 1
            if not (isinstance(result, dict) and result.get("correct")):
                wrong[qid] += 1
    prompts = dict(
        Question.objects.filter(tenant_id=tenant_id, activity_id=activity_id).values_list(
            "pk", "prompt"
        )
    )
    stats = [
        QuestionStat(int(q), prompts.get(int(q), "?"), answered[q], wrong[q])
        for q in answered
        if q.isdigit()
    ]
    stats.sort(key=lambda s: (-(s.wrong_rate or 0), s.question_id))
    return stats[:limit]


# --- Events over time --------------------------------------------------------------------------


def events_per_day(*, scope: Scope, since: dt.date) -> dict[tuple[dt.date, str], int]:
    """Events per UTC day and verb (courses narrowed by the scope; people are not)."""
    t = _tables()
    csql, cparams = course_filter(scope, "course_id")
    rows = _fetch(
        f"SELECT day, verb, SUM(n) FROM {t['dc']} WHERE tenant_id = %s AND day >= %s{csql} "
        "GROUP BY day, verb",
        [scope.tenant_id, _dp(since), *cparams],
    )
    return {(_as_date(d), v): int(n) for d, v, n in rows}


# --- Drill-down: the people behind a number ----------------------------------------------------

DRILL_METRICS = (
    "assigned",
    "not_started",
    "started",
    "completed",
    "not_activated",
    "overdue",
    "not_completed",
)


@dataclass(frozen=True)
class DrillRow:
    person_id: int
    name: str
    email: str
    department: str
    course_id: int
    course: str
    assigned_at: dt.datetime | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    due_at: dt.datetime | None


@dataclass
class DrillPage:
    rows: list[DrillRow] = field(default_factory=list)
    total: int = 0


def drill_down(
    *,
    scope: Scope,
    metric: str,
    now: dt.datetime | None = None,
    limit: int = 500,
    offset: int = 0,
) -> DrillPage:
    """The assignments (person x course) behind a number, by person name."""
    from uptake.catalog.models import Course

    if metric not in DRILL_METRICS:
        raise ValueError(metric)
    now = now or clock.now()
    t = _tables()
    nowp = _dtp(now)
    cut = _dtp(now - dt.timedelta(days=rules.ACTIVATION_DAYS))
    conditions: dict[str, tuple[str, list[Any]]] = {
        "assigned": ("", []),
        "not_started": (" AND cf.started_at IS NULL", []),
        "started": (" AND cf.started_at IS NOT NULL", []),
        "completed": (" AND cf.completed_at IS NOT NULL", []),
        "not_completed": (" AND cf.completed_at IS NULL", []),
        "not_activated": (
            " AND cf.first_assigned_at <= %s AND (cf.started_at IS NULL "
            "OR cf.started_at > cf.activation_deadline)",
            [cut],
        ),
        "overdue": (
            f" AND {_no_index('cf.due_at')} IS NOT NULL AND {_no_index('cf.due_at')} < %s "
            "AND cf.completed_at IS NULL",
            [nowp],
        ),
    }
    cond, cparams = conditions[metric]
    frm, fparams = _from_current(scope, extra_join=f" JOIN {t['person']} p ON p.id = cf.person_id")
    if uses_cells(scope):
        c = assignment_counts(scope=scope, now=now)
        total = {
            "assigned": c.assigned,
            "not_started": c.assigned - c.started,
            "started": c.started,
            "completed": c.completed,
            "not_completed": c.assigned - c.completed,
            "not_activated": c.activation_eligible - c.activated,
            "overdue": c.overdue,
        }[metric]
    else:
        total = int(_fetch(f"SELECT COUNT(*){frm}{cond}", [*fparams, *cparams])[0][0])
    select = (
        "SELECT p.id AS pid, p.first_name AS fn, p.last_name AS ln, p.email, p.department, "
        "cf.course_id, cf.first_assigned_at, cf.started_at, cf.completed_at, "
        f"cf.due_at{frm}{cond}"
    )
    if total <= offset:
        rows: list[tuple[Any, ...]] = []
    elif total <= _FEW_ROWS:
        # Few matches: found first, then sorted. Walking everyone in name order until `limit`
        # matches turn up (the plan a LIMIT invites) read all 100,000 people when nobody
        # matched (PostgreSQL at 10M events: 960 ms); OFFSET 0 keeps the inner query apart.
        fence = "OFFSET 0" if _pg() else "LIMIT -1 OFFSET 0"
        rows = _fetch(
            f"SELECT * FROM ({select} {fence}) AS m "
            "ORDER BY ln, fn, pid, course_id LIMIT %s OFFSET %s",
            [*fparams, *cparams, limit, offset],
        )
    else:
        rows = _fetch(
            f"{select} ORDER BY p.last_name, p.first_name, p.id, cf.course_id LIMIT %s OFFSET %s",
            [*fparams, *cparams, limit, offset],
        )
    titles = dict(
        Course.objects.filter(tenant_id=scope.tenant_id, pk__in={r[5] for r in rows}).values_list(
            "pk", "title"
        )
    )
    return DrillPage(
        rows=[
            DrillRow(
                person_id=r[0],
                name=f"{r[1]} {r[2]}".strip(),
                email=r[3],
                department=r[4],
                course_id=r[5],
                course=titles.get(r[5], f"#{r[5]}"),
                assigned_at=_as_datetime(r[6]),
                started_at=_as_datetime(r[7]),
                completed_at=_as_datetime(r[8]),
                due_at=_as_datetime(r[9]),
            )
            for r in rows
        ],
        total=total,
    )


_FEW_ROWS = 5000  # drill-downs with at most this many rows: matches first, then sorted


def drill_person_ids(*, scope: Scope, metric: str, now: dt.datetime | None = None) -> list[int]:
    """Every distinct person behind a number (for "remind these")."""
    ids: dict[int, None] = {}
    offset = 0
    while True:
        page = drill_down(scope=scope, metric=metric, now=now, limit=5000, offset=offset)
        for row in page.rows:
            ids[row.person_id] = None
        offset += 5000
        if offset >= page.total:
            return list(ids)


# --- A manager's team, person by person -------------------------------------------------------


@dataclass(frozen=True)
class MemberStatus:
    person_id: int
    name: str
    job_title: str
    not_started: int
    in_progress: int
    completed: int
    overdue: int


def team_status(*, scope: Scope, now: dt.datetime | None = None) -> list[MemberStatus]:
    """Each person of the scope's team with their current (not withdrawn) assignments by
    status, overdue first then by name: two queries whatever the team's size."""
    from uptake.enrollment.models import Enrollment
    from uptake.people.models import Person

    if scope.team is None:
        return []
    now = now or clock.now()
    people = {
        pk: (first, last, title)
        for pk, first, last, title in Person.objects.filter(
            tenant_id=scope.tenant_id, pk__in=scope.team
        )
        .order_by()
        .values_list("pk", "first_name", "last_name", "job_title")
    }
    counts: dict[int, list[int]] = {pk: [0, 0, 0, 0] for pk in people}
    for pid, status, due in (
        Enrollment.objects.filter(tenant_id=scope.tenant_id, person_id__in=scope.team)
        .exclude(status=Enrollment.Status.WITHDRAWN)
        .order_by()
        .values_list("person_id", "status", "due_at")
    ):
        row = counts.setdefault(pid, [0, 0, 0, 0])
        if status == Enrollment.Status.COMPLETED:
            row[2] += 1
            continue
        row[1 if status == Enrollment.Status.IN_PROGRESS else 0] += 1
        if due is not None and due < now:
            row[3] += 1
    out = [
        MemberStatus(pk, f"{first} {last}".strip(), title, *counts[pk])
        for pk, (first, last, title) in people.items()
    ]
    out.sort(key=lambda m: (m.overdue == 0, m.name.lower(), m.person_id))
    return out


# --- Labels ------------------------------------------------------------------------------------


def labels(*, tenant_id: int, by: str, keys: list[Any]) -> dict[Any, str]:
    """Display names for breakdown keys (course / manager / audience / path ids)."""
    from uptake.audiences.models import Audience
    from uptake.catalog.models import Course
    from uptake.paths.models import LearningPath
    from uptake.people.models import Person

    ids = [k for k in keys if k is not None]
    if by == "course":
        return dict(
            Course.objects.filter(tenant_id=tenant_id, pk__in=ids).values_list("pk", "title")
        )
    if by == "audience":
        return dict(
            Audience.objects.filter(tenant_id=tenant_id, pk__in=ids).values_list("pk", "name")
        )
    if by == "path":
        return dict(
            LearningPath.objects.filter(tenant_id=tenant_id, pk__in=ids).values_list("pk", "title")
        )
    if by == "manager":
        return {
            pk: f"{first} {last}".strip()
            for pk, first, last in Person.objects.filter(
                tenant_id=tenant_id, pk__in=ids
            ).values_list("pk", "first_name", "last_name")
        }
    return {k: str(k) if k not in (None, "") else "(none)" for k in keys}


__all__ = ["Scope", "fold"]
