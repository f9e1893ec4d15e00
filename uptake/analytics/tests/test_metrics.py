"""Every metric against a straightforward recomputation from the raw events (and enrolments
for due dates) on a generated organisation."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from typing import Any

import pytest
import time_machine

from uptake.analytics import rules, selectors
from uptake.analytics.models import LearningEvent
from uptake.analytics.selectors import Scope
from uptake.demo.generator import OrgGenerator
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 18, 10, 0, tzinfo=dt.UTC)
START_VERBS = {
    "launched",
    "activity_completed",
    "attempt_submitted",
    "passed",
    "failed",
    "course_completed",
}
LEARNER_VERBS = START_VERBS | {"active_session"}


@pytest.fixture
def org() -> Any:
    with time_machine.travel(NOW, tick=False):
        summary = OrgGenerator(tenant_slug="metrics", people=150, seed=3, now=NOW).build()
    return summary


def _pairs(tenant_id: int, people: set[int] | None = None) -> dict[tuple[int, int], dict[str, Any]]:
    """Current assignments recomputed from the events: (person, course) -> times."""
    by_pair: dict[tuple[int, int], list[LearningEvent]] = defaultdict(list)
    for e in LearningEvent.objects.filter(tenant_id=tenant_id, course_id__isnull=False):
        if people is None or e.person_id in people:
            by_pair[(e.person_id, e.course_id)].append(e)  # type: ignore[index]
    due = {
        (e.person_id, e.course_id): e.due_at for e in Enrollment.objects.filter(tenant_id=tenant_id)
    }
    out = {}
    for key, evs in by_pair.items():
        assigned = [e.occurred_at for e in evs if e.verb == "assigned"]
        withdrawn = [e.occurred_at for e in evs if e.verb == "withdrawn"]
        if not assigned or (withdrawn and max(withdrawn) >= max(assigned)):
            continue
        starts = [e.occurred_at for e in evs if e.verb in START_VERBS]
        done = [e.occurred_at for e in evs if e.verb == "course_completed"]
        out[key] = {
            "assigned": min(assigned),
            "started": min(starts) if starts else None,
            "completed": min(done) if done else None,
            "due": due.get(key),
        }
    return out


def _expected_counts(
    pairs: dict[Any, dict[str, Any]], now: dt.datetime = NOW
) -> rules.AssignmentCounts:
    NOW = now
    week = dt.timedelta(days=7)
    v = list(pairs.values())
    eligible = [p for p in v if p["assigned"] <= NOW - week]
    return rules.AssignmentCounts(
        assigned=len(v),
        started=sum(p["started"] is not None for p in v),
        completed=sum(p["completed"] is not None for p in v),
        activation_eligible=len(eligible),
        activated=sum(
            p["started"] is not None and p["started"] - p["assigned"] <= week for p in eligible
        ),
        with_due=sum(p["due"] is not None for p in v),
        due_completed=sum(p["due"] is not None and p["completed"] is not None for p in v),
        due_closed=sum(
            p["due"] is not None and (p["due"] < NOW or p["completed"] is not None) for p in v
        ),
        on_time=sum(
            p["due"] is not None and p["completed"] is not None and p["completed"] <= p["due"]
            for p in v
        ),
        overdue=sum(p["due"] is not None and p["due"] < NOW and p["completed"] is None for p in v),
    )


def test_assignment_metrics_match_a_recomputation(org) -> None:  # type: ignore[no-untyped-def]
    scope = Scope(tenant_id=org.tenant_id)
    pairs = _pairs(org.tenant_id)
    got = selectors.assignment_counts(scope=scope, now=NOW)
    assert got == _expected_counts(pairs)
    assert got.assigned > 100 and got.completed > 10 and got.activated > 10 and got.with_due > 10
    kpis = rules.assignment_kpis(got)
    assert kpis.activation == got.activated / got.activation_eligible
    assert kpis.compliance == got.due_completed / got.with_due
    want_days = [
        max(0.0, (p["completed"] - p["assigned"]).total_seconds() / 86400)
        for p in pairs.values()
        if p["completed"]
    ]
    days = selectors.days_to_complete(scope=scope)
    assert rules.median(days) == pytest.approx(statistics.median(want_days), abs=1e-6)
    # The comparison's mean and interval from three sums equal those from the values.
    n, total, squares = selectors.days_to_complete_moments(scope=scope)
    assert n == len(want_days)
    half = len(want_days) // 2
    first, second = want_days[:half], want_days[half:]
    moments = [(len(g), sum(g), sum(x * x for x in g)) for g in (first, second)]
    by_moments = rules.mean_difference_of_moments(moments[0], moments[1])
    by_values = rules.mean_difference(first, second)
    for name in ("a", "b", "difference", "low", "high"):
        assert getattr(by_moments, name) == pytest.approx(getattr(by_values, name), rel=1e-6)
    assert total == pytest.approx(sum(want_days), rel=1e-6)
    assert squares == pytest.approx(sum(x * x for x in want_days), rel=1e-6)
    # The median time to complete is to the hour (whole hours, rounded down), from the cells.
    want_hours = [
        max(0, int((p["completed"] - p["assigned"]).total_seconds() // 3600))
        for p in pairs.values()
        if p["completed"]
    ]
    assert selectors.median_days_to_complete(scope=scope) == statistics.median(want_hours) / 24


@pytest.mark.parametrize("hours", [0, 5, 13.5, 84, -30])
def test_counts_from_the_cells_are_exact_at_any_moment_of_the_day(org, hours) -> None:  # type: ignore[no-untyped-def]
    """Whole days come from the cells, the partial days (activation window, due today) from
    the person-level rows: equal to the recomputation whatever the time of day."""
    now = NOW + dt.timedelta(hours=hours)
    scope = Scope(tenant_id=org.tenant_id)
    assert selectors.uses_cells(scope)
    assert selectors.assignment_counts(scope=scope, now=now) == _expected_counts(
        _pairs(org.tenant_id), now
    )


def test_the_cells_follow_a_changed_due_date(org, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from uptake.core.actor import Actor
    from uptake.enrollment import services as enrollment_services

    scope = Scope(tenant_id=org.tenant_id)
    pairs = _pairs(org.tenant_id)
    open_ids = set(
        Enrollment.objects.filter(tenant_id=org.tenant_id, due_at__lt=NOW)
        .exclude(status__in=[Enrollment.Status.WITHDRAWN, Enrollment.Status.COMPLETED])
        .values_list("person_id", "course_id")
    )
    key = next(k for k, p in sorted(pairs.items()) if k in open_ids and p["completed"] is None)
    enrollment = Enrollment.objects.get(person_id=key[0], course_id=key[1])
    before = selectors.assignment_counts(scope=scope, now=NOW)
    later = NOW + dt.timedelta(days=40)
    with (
        time_machine.travel(NOW, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        enrollment_services.change_due_date(
            actor=Actor.system(), enrollment=enrollment, due_at=later
        )
    pairs[key]["due"] = later
    after = selectors.assignment_counts(scope=scope, now=NOW)
    assert after == _expected_counts(pairs)
    assert after.overdue == before.overdue - 1


@pytest.mark.parametrize("by", ["department", "location", "course", "manager", "hire_month"])
def test_breakdowns_match_a_recomputation(org, by) -> None:  # type: ignore[no-untyped-def]
    pairs = _pairs(org.tenant_id)
    people = {p.pk: p for p in Person.objects.filter(tenant_id=org.tenant_id)}

    def key(pair: tuple[int, int]) -> Any:
        person = people[pair[0]]
        if by == "course":
            return pair[1]
        if by == "manager":
            return person.manager_id
        if by == "hire_month":
            return person.hire_date.strftime("%Y-%m") if person.hire_date else None
        return getattr(person, by)

    groups: dict[Any, dict[Any, Any]] = defaultdict(dict)
    for pair, times in pairs.items():
        groups[key(pair)][pair] = times
    got = dict(selectors.breakdown(scope=Scope(tenant_id=org.tenant_id), by=by, now=NOW))
    assert got == {k: _expected_counts(v) for k, v in groups.items()}


def test_manager_scope_is_the_whole_team(org) -> None:  # type: ignore[no-untyped-def]
    from uptake.people.selectors import team_members

    boss = (
        Person.objects.filter(tenant_id=org.tenant_id, manager__isnull=False)
        .exclude(reports=None)
        .order_by("pk")[0]
    )
    team = {p.pk for p in team_members(manager=boss)}
    assert len(team) > 5
    by_query = Scope(tenant_id=org.tenant_id, manager_id=boss.pk)
    by_ids = selectors.with_team(by_query)
    assert by_ids.team is not None and set(by_ids.team) == team
    want = _expected_counts(_pairs(org.tenant_id, people=team))
    assert selectors.assignment_counts(scope=by_query, now=NOW) == want
    assert selectors.assignment_counts(scope=by_ids, now=NOW) == want


def _active_days(tenant_id: int) -> dict[int, set[dt.date]]:
    days: dict[int, set[dt.date]] = defaultdict(set)
    for e in LearningEvent.objects.filter(tenant_id=tenant_id, verb__in=LEARNER_VERBS):
        days[e.person_id].add(e.occurred_at.astimezone(dt.UTC).date())
    return days


def test_active_users_match_a_recomputation(org) -> None:  # type: ignore[no-untyped-def]
    days = _active_days(org.tenant_id)
    today = NOW.date()
    got = selectors.active_users(scope=Scope(tenant_id=org.tenant_id), today=today)
    yesterday = today - dt.timedelta(days=1)
    monday = today - dt.timedelta(days=today.weekday() + 7)
    week = {monday + dt.timedelta(days=i) for i in range(7)}
    month_start = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    month = {
        d
        for d in (month_start + dt.timedelta(days=i) for i in range(31))
        if d.month == month_start.month
    }
    dau = sum(yesterday in d for d in days.values())
    wau = sum(bool(week & d) for d in days.values())
    mau = sum(bool(month & d) for d in days.values())
    mean_dau = sum(sum(day in d for d in days.values()) for day in month) / len(month)
    assert (got.dau, got.wau, got.mau) == (dau, wau, mau)
    assert mau > 0
    assert got.stickiness == pytest.approx(mean_dau / mau)


def test_retention_curves_match_a_recomputation(org) -> None:  # type: ignore[no-untyped-def]
    days = _active_days(org.tenant_id)
    today = NOW.date()
    curves = selectors.retention(scope=Scope(tenant_id=org.tenant_id), cohort="active", today=today)
    current = today - dt.timedelta(days=today.weekday())
    start = current - dt.timedelta(weeks=12)

    def monday(d: dt.date) -> dt.date:
        return d - dt.timedelta(days=d.weekday())

    cohorts: dict[dt.date, list[set[dt.date]]] = defaultdict(list)
    for d in days.values():
        first = monday(min(d))
        if first >= start:
            cohorts[first].append({monday(x) for x in d})
    assert [c.cohort for c in curves] == sorted(cohorts)
    assert len(curves) >= 4 and any((c.shares[1] or 0) > 0 for c in curves)
    for curve in curves:
        members = cohorts[curve.cohort]  # type: ignore[index]
        for k, share in enumerate(curve.shares):
            week = curve.cohort + dt.timedelta(weeks=k)  # type: ignore[operator]
            if week >= current:
                assert share is None
            else:
                assert share == sum(week in m for m in members) / len(members)
    overall = rules.overall_curve(curves)
    assert overall.shares[0] == 1.0
    assert rules.day_n_retention(overall, 7) == overall.shares[1]
    assert rules.day_n_retention(overall, 30) == overall.shares[4]


def test_knowledge_check_metrics_match_a_recomputation(org) -> None:  # type: ignore[no-untyped-def]
    from uptake.progress.models import Attempt

    attempts: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for a in Attempt.objects.filter(tenant_id=org.tenant_id).select_related("enrollment"):
        attempts[(a.enrollment.person_id, a.activity_id)].append(a)
    passed = [sorted(x.number for x in v if x.passed) for v in attempts.values()]
    passed = [p for p in passed if p]
    got = selectors.check_counts(scope=Scope(tenant_id=org.tenant_id))
    # The generator puts no attempt number in the events: attempts - passes + 1 stands in.
    assert got.people == len(attempts) > 5
    assert got.passed == len(passed)
    assert got.first_try == sum(p[0] == 1 for p in passed)
    assert got.attempts_to_pass_sum == sum(p[0] for p in passed)
    assert 0 < got.first_try < got.passed
    kpis = rules.check_kpis(got)
    assert kpis.pass_rate == len(passed) / len(attempts)


def test_knowledge_checks_per_department_and_course_match_their_people(org) -> None:  # type: ignore[no-untyped-def]
    """The check cells (ADR 0026) read for a department, a course or a check equal sums over
    the CheckFact rows of the people and checks in scope."""
    from uptake.analytics.models import CheckFact

    department = dict(
        Person.objects.filter(tenant_id=org.tenant_id).values_list("pk", "department")
    )
    facts = list(CheckFact.objects.filter(tenant_id=org.tenant_id, attempts__gt=0))

    def counts(rows: list[CheckFact]) -> rules.CheckCounts:
        firsts = [
            f.first_pass_attempt if f.first_pass_attempt is not None else f.attempts - f.passes + 1
            for f in rows
            if f.passes
        ]
        return rules.CheckCounts(len(rows), len(firsts), firsts.count(1), sum(firsts))

    names = {d for d in department.values() if d}
    assert len(names) >= 2
    for name in names:
        scope = Scope(tenant_id=org.tenant_id, department=name)
        mine = [f for f in facts if department[f.person_id] == name]
        assert selectors.check_counts(scope=scope) == counts(mine)
        by_check: dict[int, list[CheckFact]] = defaultdict(list)
        for f in mine:
            by_check[f.activity_id].append(f)
        expected = {a: counts(rows) for a, rows in by_check.items() if len(rows) >= 5}
        assert dict(selectors.hardest_checks(scope=scope, limit=10_000)) == expected
    course_id = facts[0].course_id
    scope = Scope(tenant_id=org.tenant_id, course_id=course_id)
    assert selectors.check_counts(scope=scope) == counts(
        [f for f in facts if f.course_id == course_id]
    )


def test_heatmap_matches_a_recomputation(org) -> None:  # type: ignore[no-untyped-def]
    days = _active_days(org.tenant_id)
    today = NOW.date()
    weeks, rows, headcount = selectors.heatmap(scope=Scope(tenant_id=org.tenant_id), today=today)
    people = list(Person.objects.filter(tenant_id=org.tenant_id, is_active=True))
    assert len(rows) >= 3 and any((s or 0) > 0 for _d, shares in rows for s in shares)
    for dept, shares in rows:
        members = [p for p in people if p.department == dept]
        assert headcount[dept] == len(members)
        for week, share in zip(weeks, shares, strict=True):
            span = {week + dt.timedelta(days=i) for i in range(7)}
            active = sum(bool(span & days.get(p.pk, set())) for p in members)
            assert share == active / len(members)


def test_drill_down_lists_the_people_behind_the_number(org) -> None:  # type: ignore[no-untyped-def]
    scope = Scope(tenant_id=org.tenant_id)
    counts = selectors.assignment_counts(scope=scope, now=NOW)
    for metric, expected in [
        ("assigned", counts.assigned),
        ("started", counts.started),
        ("not_started", counts.assigned - counts.started),
        ("completed", counts.completed),
        ("overdue", counts.overdue),
        ("not_activated", counts.activation_eligible - counts.activated),
    ]:
        page = selectors.drill_down(scope=scope, metric=metric, now=NOW, limit=10_000)
        assert page.total == expected == len(page.rows), metric


def test_drill_down_pages_alike_whether_matches_are_few_or_many(org, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Few matches are found first and then sorted, many are read in name order: the same
    pages either way, and past the end an empty page."""
    scope = Scope(tenant_id=org.tenant_id)

    def pages(metric: str) -> list[list[tuple[int, int]]]:
        out = []
        for offset in (0, 3, 7, 10_000):
            page = selectors.drill_down(scope=scope, metric=metric, now=NOW, limit=4, offset=offset)
            out.append([(r.person_id, r.course_id) for r in page.rows])
        return out

    for metric in ("assigned", "not_started", "completed"):
        few = pages(metric)
        monkeypatch.setattr(selectors, "_FEW_ROWS", 0)
        many = pages(metric)
        monkeypatch.setattr(selectors, "_FEW_ROWS", 5000)
        assert few == many, metric
        assert few[-1] == []
        assert few[0], metric


def test_proportion_difference_interval() -> None:
    d = rules.proportion_difference(56, 70, 48, 80)
    # Newcombe (1998) example 1: 56/70 vs 48/80 -> 0.2 (0.0524, 0.3339).
    assert d.difference == pytest.approx(0.2)
    assert (d.low, d.high) == (pytest.approx(0.0524, abs=1e-4), pytest.approx(0.3339, abs=1e-4))
    assert rules.proportion_difference(1, 0, 1, 2).difference is None


def test_rate_is_none_for_nothing() -> None:
    assert rules.rate(0, 0) is None
    assert rules.median([]) is None
    assert rules.median([3, 1, 2, 10]) == 2.5


@pytest.mark.parametrize("attr", ["department", "location", "hire_month"])
def test_one_dimension_scopes_from_the_cells_equal_the_person_rows(  # type: ignore[no-untyped-def]
    org, attr, monkeypatch
) -> None:
    """A scope of one department / location / hire month reads the dimension cells (ADR
    0017): every figure equals the person-grain computation of the same scope."""
    people = list(Person.objects.filter(tenant_id=org.tenant_id))
    if attr == "hire_month":
        values = sorted({p.hire_date.strftime("%Y-%m") for p in people if p.hire_date})
    else:
        values = sorted({getattr(p, attr) for p in people if getattr(p, attr)})
    assert values
    today = NOW.date()
    since = today - dt.timedelta(weeks=12)

    def figures(scope: Scope) -> tuple[Any, ...]:
        return (
            selectors.assignment_counts(scope=scope, now=NOW),
            selectors.active_users(scope=scope, today=today),
            selectors.retention(scope=scope, cohort="active", today=today),
            selectors.retention(scope=scope, cohort="assigned", today=today),
            selectors.median_days_to_complete(scope=scope),
            selectors.completions_per_week(scope=scope, since=since),
            selectors.cohort_trend(scope=scope, since=since, now=NOW),
        )

    for value in values[:3]:
        scope = Scope(tenant_id=org.tenant_id, **{attr: value})
        assert selectors.scope_dim(scope) is not None
        got = figures(scope)
        with monkeypatch.context() as m:
            m.setattr(selectors, "scope_dim", lambda _scope: None)
            assert not selectors.uses_cells(scope)
            want = figures(scope)
        assert got == want
        assert got[0].assigned > 0
