"""Due dates from the due-date rule (pure)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from uptake.assignments import rules

TODAY = dt.date(2026, 11, 23)


def test_days_after_hire_counts_from_the_hire_date():
    due = rules.due_date(
        kind="days_after_hire",
        days=14,
        fixed=None,
        assigned_on=TODAY,
        hire_date=dt.date(2026, 11, 16),
    )
    assert due == rules.Due(dt.date(2026, 11, 30), "hire")


def test_no_hire_date_falls_back_to_the_assignment_date_and_says_so():
    due = rules.due_date(
        kind="days_after_hire", days=14, fixed=None, assigned_on=TODAY, hire_date=None
    )
    assert due == rules.Due(dt.date(2026, 12, 7), "no_hire_date")
    assert rules.basis_text(due.basis, days=14) == (
        "due 14 days after being assigned, because no hire date is recorded"
    )


def test_days_after_assignment_and_fixed_and_none():
    assert rules.due_date(
        kind="days_after_assignment", days=3, fixed=None, assigned_on=TODAY, hire_date=None
    ) == rules.Due(dt.date(2026, 11, 26), "assignment")
    assert rules.due_date(
        kind="fixed_date", days=None, fixed=dt.date(2027, 1, 1), assigned_on=TODAY, hire_date=None
    ) == rules.Due(dt.date(2027, 1, 1), "fixed")
    assert rules.due_date(
        kind="none", days=None, fixed=None, assigned_on=TODAY, hire_date=TODAY
    ) == rules.Due(None, "none")


@given(st.dates(), st.integers(0, 3650))
def test_hire_based_due_date_is_never_before_the_hire_date(hire, days):
    due = (
        rules.due_date(
            kind="days_after_hire", days=days, fixed=None, assigned_on=TODAY, hire_date=hire
        )
        if hire <= dt.date(9000, 1, 1)
        else None
    )
    if due is not None:
        assert due.date == hire + dt.timedelta(days=days)


def test_due_is_the_end_of_the_day_where_the_person_is():
    at = rules.end_of_day(dt.date(2026, 11, 30), "Europe/Paris")
    assert at is not None
    assert at.isoformat() == "2026-11-30T23:59:59+01:00"
    assert rules.end_of_day(dt.date(2026, 11, 30), "Not/AZone").tzinfo == dt.UTC
    assert rules.end_of_day(None, "UTC") is None


def test_due_rule_problems_name_the_field():
    assert [
        p.field
        for p in rules.due_rule_problems(kind="fixed_date", days=None, fixed=None, today=TODAY)
    ] == ["due_date"]
    assert [
        p.field
        for p in rules.due_rule_problems(kind="days_after_hire", days=None, fixed=None, today=TODAY)
    ] == ["due_days"]
    assert [
        p.field for p in rules.due_rule_problems(kind="weekly", days=None, fixed=None, today=TODAY)
    ] == ["due_kind"]
    assert (
        rules.due_rule_problems(
            kind="fixed_date", days=None, fixed=dt.date(2026, 11, 1), today=TODAY
        )[0].message
        == "The due date has already passed."
    )
    assert (
        rules.due_rule_problems(kind="days_after_assignment", days=7, fixed=None, today=TODAY) == []
    )
