"""The tables behind every screen, chart and export: selectors -> rules -> `Table`.

A screen shows a Table (and a chart drawn from it); the export of that screen writes the same
Table as CSV or Parquet, so what is downloaded is what was shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from uptake.analytics import rules, selectors
from uptake.analytics.selectors import Scope
from uptake.core import clock

TREND_WEEKS = 12


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | float | percent | date


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip((c.key for c in self.columns), r, strict=True)) for r in self.rows]


def _pct(label: str, key: str) -> Column:
    return Column(key, label, "percent")


# --- KPIs --------------------------------------------------------------------------------------


def kpis(
    *, scope: Scope, now: dt.datetime | None = None, counts: rules.AssignmentCounts | None = None
) -> Table:
    now = now or clock.now()
    counts = counts or selectors.assignment_counts(scope=scope, now=now)
    k = rules.assignment_kpis(counts)
    users = selectors.active_users(scope=scope, today=now.date())
    curves = selectors.retention(scope=scope, cohort="active", today=now.date())
    overall = rules.overall_curve(curves)
    checks = rules.check_kpis(selectors.check_counts(scope=scope))
    ttc = selectors.median_days_to_complete(scope=scope)
    rows: list[tuple[Any, ...]] = [
        ("activation", _("Activation (started within 7 days)"), k.activation),
        ("start_rate", _("Started"), k.start_rate),
        ("completion", _("Completion"), k.completion),
        ("on_time_completion", _("On-time completion"), k.on_time_completion),
        ("compliance", _("Compliance (due-dated assignments complete)"), k.compliance),
        ("retention_day_7", _("Retention, day 7"), rules.day_n_retention(overall, 7)),
        ("retention_day_30", _("Retention, day 30"), rules.day_n_retention(overall, 30)),
        ("pass_rate", _("Knowledge-check pass rate"), checks.pass_rate),
        ("first_attempt_pass_rate", _("Passed at first attempt"), checks.first_attempt_pass_rate),
        ("stickiness", _("Stickiness (DAU / MAU)"), users.stickiness),
    ]
    counts_rows: list[tuple[Any, ...]] = [
        ("assigned", _("Assignments"), float(k.assigned)),
        ("started", _("Started"), float(k.started)),
        ("completed", _("Completed"), float(k.completed)),
        ("overdue", _("Overdue"), float(k.overdue)),
        ("dau", _("Daily active (yesterday)"), float(users.dau)),
        ("wau", _("Weekly active (last full week)"), float(users.wau)),
        ("mau", _("Monthly active (last full month)"), float(users.mau)),
        ("median_days_to_complete", _("Median days to complete"), ttc),
        ("attempts_to_pass", _("Attempts to pass (mean)"), checks.attempts_to_pass),
    ]
    return Table(
        name="kpis",
        title=_("Key figures"),
        columns=[
            Column("metric", _("Metric key")),
            Column("label", _("Metric")),
            Column("value", _("Value"), "float"),
            Column("kind", _("Kind")),
        ],
        rows=[(*r, "share") for r in rows] + [(*r, "number") for r in counts_rows],
    )


def funnel(
    *, scope: Scope, now: dt.datetime | None = None, counts: rules.AssignmentCounts | None = None
) -> Table:
    counts = counts or selectors.assignment_counts(scope=scope, now=now or clock.now())
    return Table(
        name="funnel",
        title=_("Funnel: assigned → started → completed"),
        columns=[
            Column("stage", _("Stage")),
            Column("assignments", _("Assignments"), "int"),
            _pct(_("Share of assigned"), "share"),
        ],
        rows=list(rules.funnel(counts)),
    )


def trend(
    *,
    scope: Scope,
    now: dt.datetime | None = None,
    weeks: int = TREND_WEEKS,
    grid: selectors.Grid | None = None,
) -> Table:
    """Per week: assignments made, the activation and completion of that week's cohort,
    completions that week, and weekly active people."""
    now = now or clock.now()
    today = now.date()
    last = rules.last_complete_week(today)
    week_list = [last - dt.timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    cohorts = dict(selectors.cohort_trend(scope=scope, since=week_list[0], now=now, grid=grid))
    completions = selectors.completions_per_week(scope=scope, since=week_list[0])
    wau = selectors.active_series(scope=scope, grain="w", since=week_list[0])
    rows = []
    for w in week_list:
        c = cohorts.get(w, rules.AssignmentCounts())
        kp = rules.assignment_kpis(c)
        rows.append(
            (w, c.assigned, kp.activation, kp.completion, completions.get(w, 0), wau.get(w, 0))
        )
    return Table(
        name="trend",
        title=_("Weekly trend"),
        columns=[
            Column("week", _("Week of"), "date"),
            Column("assigned", _("Assigned that week"), "int"),
            _pct(_("Activation of that week's assignments"), "activation"),
            _pct(_("Completion of that week's assignments"), "completion"),
            Column("completions", _("Completions that week"), "int"),
            Column("weekly_active", _("Weekly active people"), "int"),
        ],
        rows=rows,
    )


def daily_active(*, scope: Scope, now: dt.datetime | None = None, days: int = 90) -> Table:
    today = (now or clock.now()).date()
    since = today - dt.timedelta(days=days)
    series = selectors.active_series(scope=scope, grain="d", since=since)
    return Table(
        name="daily_active",
        title=_("Daily active people"),
        columns=[Column("day", _("Day"), "date"), Column("people", _("Active people"), "int")],
        rows=[(d, series.get(d, 0)) for d in (since + dt.timedelta(days=i) for i in range(days))],
    )


def heatmap(*, scope: Scope, rows_by: str = "department", now: dt.datetime | None = None) -> Table:
    today = (now or clock.now()).date()
    weeks, grid, headcount = selectors.heatmap(scope=scope, rows_by=rows_by, today=today)
    names = selectors.labels(tenant_id=scope.tenant_id, by=rows_by, keys=list(headcount))
    rows = []
    for team, shares in grid:
        for w, share in zip(weeks, shares, strict=True):
            rows.append((names.get(team, str(team)), w, headcount[team], share))
    return Table(
        name="heatmap",
        title=_("Share of each team active, by week"),
        columns=[
            Column("team", _("Team")),
            Column("week", _("Week of"), "date"),
            Column("people", _("People"), "int"),
            _pct(_("Share active"), "share_active"),
        ],
        rows=rows,
    )


def retention(*, scope: Scope, cohort: str = "assigned", now: dt.datetime | None = None) -> Table:
    curves = selectors.retention(scope=scope, cohort=cohort, today=(now or clock.now()).date())
    weeks = rules.RETENTION_WEEKS
    rows = [(c.cohort, c.size, *c.shares) for c in curves]
    overall = rules.overall_curve(curves)
    rows.append((None, overall.size, *overall.shares))
    title = (
        _("Retention by week first assigned")
        if cohort == "assigned"
        else _("Retention by week first active")
    )
    return Table(
        name="retention",
        title=title,
        columns=[
            Column("cohort", _("Cohort week (empty: all)"), "date"),
            Column("people", _("People"), "int"),
            *[_pct(_("Week %(k)d") % {"k": k}, f"week_{k}") for k in range(weeks + 1)],
        ],
        rows=rows,
    )


def breakdown(
    *, scope: Scope, by: str, now: dt.datetime | None = None, grid: selectors.Grid | None = None
) -> Table:
    data = selectors.breakdown(scope=scope, by=by, now=now or clock.now(), grid=grid)
    names = selectors.labels(tenant_id=scope.tenant_id, by=by, keys=[k for k, _c in data])
    rows = []
    for key, c in data:
        k = rules.assignment_kpis(c)
        rows.append(
            (
                "" if key is None else str(key),
                names.get(key, str(key)),
                c.assigned,
                c.started,
                c.completed,
                c.overdue,
                k.activation,
                k.completion,
                k.on_time_completion,
                k.compliance,
            )
        )
    return Table(
        name=f"breakdown_{by}",
        title=_("By %(dimension)s") % {"dimension": DIMENSION_LABELS().get(by, by)},
        columns=[
            Column("key", _("Key")),
            Column("name", _("Name")),
            Column("assigned", _("Assigned"), "int"),
            Column("started", _("Started"), "int"),
            Column("completed", _("Completed"), "int"),
            Column("overdue", _("Overdue"), "int"),
            _pct(_("Activation"), "activation"),
            _pct(_("Completion"), "completion"),
            _pct(_("On time"), "on_time_completion"),
            _pct(_("Compliance"), "compliance"),
        ],
        rows=rows,
    )


def DIMENSION_LABELS() -> dict[str, str]:
    return {
        "course": _("course"),
        "department": _("department"),
        "location": _("location"),
        "manager": _("manager"),
        "hire_month": _("hire month"),
        "audience": _("audience"),
        "path": _("learning path"),
    }


def checks(*, scope: Scope) -> Table:
    from uptake.catalog.models import Activity

    hardest = selectors.hardest_checks(scope=scope, limit=20)
    titles = dict(
        Activity.objects.filter(
            tenant_id=scope.tenant_id, pk__in=[a for a, _c in hardest]
        ).values_list("pk", "title")
    )
    rows = []
    for activity_id, c in hardest:
        k = rules.check_kpis(c)
        rows.append(
            (
                activity_id,
                titles.get(activity_id, f"#{activity_id}"),
                c.people,
                k.pass_rate,
                k.first_attempt_pass_rate,
                k.attempts_to_pass,
            )
        )
    return Table(
        name="checks",
        title=_("Hardest knowledge checks"),
        columns=[
            Column("activity_id", _("Check id"), "int"),
            Column("check", _("Knowledge check")),
            Column("people", _("People who tried"), "int"),
            _pct(_("Passed"), "pass_rate"),
            _pct(_("Passed at first attempt"), "first_attempt_pass_rate"),
            Column("attempts_to_pass", _("Attempts to pass"), "float"),
        ],
        rows=rows,
    )


def questions(*, tenant_id: int, activity_id: int) -> Table:
    stats = selectors.hardest_questions(tenant_id=tenant_id, activity_id=activity_id)
    return Table(
        name="questions",
        title=_("Hardest questions"),
        columns=[
            Column("question_id", _("Question id"), "int"),
            Column("question", _("Question")),
            Column("answered", _("Answers"), "int"),
            _pct(_("Wrong"), "wrong_rate"),
        ],
        rows=[(s.question_id, s.prompt, s.answered, s.wrong_rate) for s in stats],
    )


def people(
    *, scope: Scope, metric: str, now: dt.datetime | None = None, limit: int = 500, offset: int = 0
) -> tuple[Table, int]:
    page = selectors.drill_down(scope=scope, metric=metric, now=now, limit=limit, offset=offset)
    table = Table(
        name=f"people_{metric}",
        title=DRILL_LABELS().get(metric, metric),
        columns=[
            Column("person_id", _("Person id"), "int"),
            Column("name", _("Name")),
            Column("email", _("Email")),
            Column("department", _("Department")),
            Column("course", _("Course")),
            Column("assigned_at", _("Assigned"), "datetime"),
            Column("started_at", _("Started"), "datetime"),
            Column("completed_at", _("Completed"), "datetime"),
            Column("due_at", _("Due"), "datetime"),
        ],
        rows=[
            (
                r.person_id,
                r.name,
                r.email,
                r.department,
                r.course,
                r.assigned_at,
                r.started_at,
                r.completed_at,
                r.due_at,
            )
            for r in page.rows
        ],
    )
    return table, page.total


def DRILL_LABELS() -> dict[str, str]:
    return {
        "assigned": _("Everyone assigned"),
        "not_started": _("Assigned, not started"),
        "started": _("Started"),
        "completed": _("Completed"),
        "not_completed": _("Not completed"),
        "not_activated": _("Not started within 7 days of being assigned"),
        "overdue": _("Overdue"),
    }


def compare(*, a: Scope, b: Scope, now: dt.datetime | None = None) -> Table:
    """Every proportion KPI of two groups side by side, with a - b and its 95% interval
    (Newcombe), and mean days to complete (Welch)."""
    now = now or clock.now()
    ca = selectors.assignment_counts(scope=a, now=now)
    cb = selectors.assignment_counts(scope=b, now=now)
    ka = selectors.check_counts(scope=a)
    kb = selectors.check_counts(scope=b)
    pairs: list[tuple[str, str, rules.Difference]] = [
        (
            "activation",
            _("Activation"),
            rules.proportion_difference(
                ca.activated, ca.activation_eligible, cb.activated, cb.activation_eligible
            ),
        ),
        (
            "start_rate",
            _("Started"),
            rules.proportion_difference(ca.started, ca.assigned, cb.started, cb.assigned),
        ),
        (
            "completion",
            _("Completion"),
            rules.proportion_difference(ca.completed, ca.assigned, cb.completed, cb.assigned),
        ),
        (
            "on_time_completion",
            _("On-time completion"),
            rules.proportion_difference(ca.on_time, ca.due_closed, cb.on_time, cb.due_closed),
        ),
        (
            "compliance",
            _("Compliance"),
            rules.proportion_difference(
                ca.due_completed, ca.with_due, cb.due_completed, cb.with_due
            ),
        ),
        (
            "pass_rate",
            _("Knowledge-check pass rate"),
            rules.proportion_difference(ka.passed, ka.people, kb.passed, kb.people),
        ),
        (
            "mean_days_to_complete",
            _("Mean days to complete"),
            rules.mean_difference_of_moments(
                selectors.days_to_complete_moments(scope=a),
                selectors.days_to_complete_moments(scope=b),
            ),
        ),
    ]
    return Table(
        name="compare",
        title=_("Comparison"),
        columns=[
            Column("metric", _("Metric key")),
            Column("label", _("Metric")),
            Column("a", _("Group A"), "float"),
            Column("b", _("Group B"), "float"),
            Column("difference", _("A − B"), "float"),
            Column("low", _("95% CI low"), "float"),
            Column("high", _("95% CI high"), "float"),
            Column("n_a", _("Assignments A"), "int"),
            Column("n_b", _("Assignments B"), "int"),
        ],
        rows=[
            (key, label, d.a, d.b, d.difference, d.low, d.high, ca.assigned, cb.assigned)
            for key, label, d in pairs
        ],
    )


def team_status(*, scope: Scope) -> Table:
    """Each person in the manager's whole team with their assignment counts (current state)."""
    rows = [
        (m.person_id, m.name, m.job_title, m.not_started, m.in_progress, m.completed, m.overdue)
        for m in selectors.team_status(scope=scope)
    ]
    return Table(
        name="team",
        title=_("Your team"),
        columns=[
            Column("person_id", _("Person id"), "int"),
            Column("name", _("Name")),
            Column("job_title", _("Job title")),
            Column("not_started", _("Not started"), "int"),
            Column("in_progress", _("In progress"), "int"),
            Column("completed", _("Completed"), "int"),
            Column("overdue", _("Overdue"), "int"),
        ],
        rows=rows,
    )
