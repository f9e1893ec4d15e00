"""The metrics, defined once (docs/metrics.md): pure functions over rollup aggregates.

No ORM, no I/O: selectors fetch small aggregates from the rollups, these functions turn them
into the numbers every screen, the API and the exports show.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

ACTIVATION_DAYS = 7  # the same window as fold.ACTIVATION_WINDOW
RETENTION_WEEKS = 12
Z95 = 1.959963984540054


def rate(numerator: int | float, denominator: int | float) -> float | None:
    """numerator / denominator, or None when there is nothing to divide (never 0/0 = 0)."""
    return None if not denominator else numerator / denominator


@dataclass(frozen=True)
class AssignmentCounts:
    """Counts over current assignments (person x course, assigned and not withdrawn since)."""

    assigned: int = 0
    started: int = 0
    completed: int = 0
    activation_eligible: int = 0  # assigned at least ACTIVATION_DAYS ago
    activated: int = 0  # ... and started within ACTIVATION_DAYS of the first assignment
    with_due: int = 0  # has a due date (mandatory)
    due_completed: int = 0  # has a due date and is completed
    due_closed: int = 0  # has a due date that has passed, or is completed
    on_time: int = 0  # completed on or before its due date
    overdue: int = 0  # due date passed, not completed

    def __add__(self, other: AssignmentCounts) -> AssignmentCounts:
        return AssignmentCounts(
            *(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True))
        )

    def as_tuple(self) -> tuple[int, ...]:
        return (
            self.assigned,
            self.started,
            self.completed,
            self.activation_eligible,
            self.activated,
            self.with_due,
            self.due_completed,
            self.due_closed,
            self.on_time,
            self.overdue,
        )


@dataclass(frozen=True)
class AssignmentKpis:
    assigned: int
    started: int
    completed: int
    overdue: int
    activation: float | None
    start_rate: float | None
    completion: float | None
    on_time_completion: float | None
    compliance: float | None


def assignment_kpis(c: AssignmentCounts) -> AssignmentKpis:
    return AssignmentKpis(
        assigned=c.assigned,
        started=c.started,
        completed=c.completed,
        overdue=c.overdue,
        activation=rate(c.activated, c.activation_eligible),
        start_rate=rate(c.started, c.assigned),
        completion=rate(c.completed, c.assigned),
        on_time_completion=rate(c.on_time, c.due_closed),
        compliance=rate(c.due_completed, c.with_due),
    )


def funnel(c: AssignmentCounts) -> list[tuple[str, int, float | None]]:
    """(stage, people, share of the first stage) for assigned -> started -> completed."""
    stages = [("assigned", c.assigned), ("started", c.started), ("completed", c.completed)]
    return [(name, n, rate(n, c.assigned)) for name, n in stages]


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def median_of_counts(counts: dict[int, int]) -> float | None:
    """The median of a multiset given as value -> how many times (what `median` gives for
    the expanded list)."""
    n = sum(k for k in counts.values() if k > 0)
    if n == 0:
        return None
    wanted = (n - 1) // 2, n // 2  # the middle positions (equal when n is odd)
    found: list[float] = []
    seen = 0
    for value in sorted(v for v, k in counts.items() if k > 0):
        seen += counts[value]
        while len(found) < 2 and wanted[len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


# --- Active users ------------------------------------------------------------------------------


def last_complete_day(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=1)


def last_complete_week(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=today.weekday() + 7)


def last_complete_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def days_in_month(month: dt.date) -> int:
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (nxt - month).days


@dataclass(frozen=True)
class ActiveUsers:
    dau: int
    wau: int
    mau: int
    stickiness: float | None  # mean DAU over the month / MAU


def active_users(
    *,
    today: dt.date,
    daily: Mapping[dt.date, int],
    weekly: Mapping[dt.date, int],
    monthly: Mapping[dt.date, int],
) -> ActiveUsers:
    """DAU of the last complete day, WAU of the last complete ISO week, MAU of the last
    complete calendar month; stickiness = mean DAU over that month / its MAU."""
    month = last_complete_month(today)
    mau = monthly.get(month, 0)
    days = days_in_month(month)
    month_dau = sum(daily.get(month + dt.timedelta(days=i), 0) for i in range(days))
    return ActiveUsers(
        dau=daily.get(last_complete_day(today), 0),
        wau=weekly.get(last_complete_week(today), 0),
        mau=mau,
        stickiness=rate(month_dau / days, mau),
    )


# --- Retention ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionCurve:
    cohort: dt.date | None  # None: all people together
    size: int
    shares: list[float | None]  # week k after the first week: share active (None: not yet)


def retention_curves(
    *,
    cells: Mapping[tuple[dt.date, dt.date], int],
    sizes: Mapping[dt.date, int],
    today: dt.date,
    weeks: int = RETENTION_WEEKS,
) -> list[RetentionCurve]:
    """One curve per cohort week: share of the cohort active in week k after the cohort week.
    `cells[(cohort_week, active_week)]` = people; `sizes[cohort_week]` = cohort size. Week k is
    reported once it is complete (ends before `today`)."""
    current = today - dt.timedelta(days=today.weekday())
    curves = []
    for cohort in sorted(sizes):
        size = sizes[cohort]
        shares: list[float | None] = []
        for k in range(weeks + 1):
            week = cohort + dt.timedelta(weeks=k)
            shares.append(rate(cells.get((cohort, week), 0), size) if week < current else None)
        curves.append(RetentionCurve(cohort=cohort, size=size, shares=shares))
    return curves


def overall_curve(curves: Sequence[RetentionCurve], weeks: int = RETENTION_WEEKS) -> RetentionCurve:
    """All cohorts together: week k's share among the cohorts whose week k is complete."""
    shares: list[float | None] = []
    for k in range(weeks + 1):
        num = 0.0
        den = 0
        for c in curves:
            share = c.shares[k] if k < len(c.shares) else None
            if share is not None:
                num += share * c.size
                den += c.size
        shares.append(rate(num, den))
    return RetentionCurve(cohort=None, size=sum(c.size for c in curves), shares=shares)


def day_n_retention(curve: RetentionCurve, day: int) -> float | None:
    """Retention on day N, measured by week: active in week floor(N / 7) after the first
    active week (day 7 -> week 1, day 30 -> week 4)."""
    k = day // 7
    return curve.shares[k] if k < len(curve.shares) else None


# --- Knowledge checks --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckCounts:
    people: int = 0  # person x check pairs with at least one attempt
    passed: int = 0  # ... of which passed
    first_try: int = 0  # ... passed at attempt 1
    attempts_to_pass_sum: int = 0  # sum of the attempt number of the first pass (passers)


@dataclass(frozen=True)
class CheckKpis:
    pass_rate: float | None
    first_attempt_pass_rate: float | None
    attempts_to_pass: float | None


def check_kpis(c: CheckCounts) -> CheckKpis:
    return CheckKpis(
        pass_rate=rate(c.passed, c.people),
        first_attempt_pass_rate=rate(c.first_try, c.people),
        attempts_to_pass=rate(c.attempts_to_pass_sum, c.passed),
    )


# --- Heatmap -----------------------------------------------------------------------------------


def heatmap(
    *,
    active: Mapping[tuple[str, dt.date], int],
    headcount: Mapping[str, int],
    weeks: Sequence[dt.date],
) -> list[tuple[str, list[float | None]]]:
    """Rows (team, share active per week) ordered by team; share = active / headcount."""
    return [
        (team, [rate(active.get((team, w), 0), headcount[team]) for w in weeks])
        for team in sorted(headcount)
    ]


# --- Comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    a: float | None
    b: float | None
    difference: float | None  # a - b
    low: float | None  # 95% confidence interval of the difference
    high: float | None


def proportion_difference(k1: int, n1: int, k2: int, n2: int) -> Difference:
    """Difference of two proportions with Newcombe's hybrid score interval (95%, from Wilson
    intervals of each proportion; sound for small groups and rates near 0 or 1)."""
    if not n1 or not n2:
        return Difference(rate(k1, n1), rate(k2, n2), None, None, None)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Difference(p1, p2, d, low, high)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_difference_of_moments(
    a: tuple[int, float, float], b: tuple[int, float, float]
) -> Difference:
    """`mean_difference` from each group's (count, sum, sum of squares): the same figures
    without the values (read as three sums in SQL)."""

    def mean_var(m: tuple[int, float, float]) -> tuple[float | None, float | None]:
        n, total, squares = m
        if n == 0:
            return None, None
        mean = total / n
        if n < 2:
            return mean, None
        return mean, max(0.0, (squares - n * mean * mean) / (n - 1))

    (ma, va), (mb, vb) = mean_var(a), mean_var(b)
    if ma is None or mb is None or va is None or vb is None:
        return Difference(ma, mb, None, None, None)
    se = math.sqrt(va / a[0] + vb / b[0])
    d = ma - mb
    return Difference(ma, mb, d, d - Z95 * se, d + Z95 * se)


def mean_difference(a: Sequence[float], b: Sequence[float]) -> Difference:
    """Difference of two means with Welch's 95% interval (normal approximation)."""
    if len(a) < 2 or len(b) < 2:
        ma = sum(a) / len(a) if a else None
        mb = sum(b) / len(b) if b else None
        return Difference(ma, mb, None, None, None)
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1)
    se = math.sqrt(va / len(a) + vb / len(b))
    d = ma - mb
    return Difference(ma, mb, d, d - Z95 * se, d + Z95 * se)
