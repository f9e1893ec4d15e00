"""Overdue, due soon and the order of My learning: pure rules."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from uptake.enrollment import rules

NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_open_enrolment_past_its_due_date_is_overdue() -> None:
    assert rules.is_overdue(status="assigned", due_at=NOW - DAY, now=NOW)
    assert rules.is_overdue(status="in_progress", due_at=NOW - dt.timedelta(seconds=1), now=NOW)


def test_completed_withdrawn_or_undated_enrolments_are_never_overdue() -> None:
    assert not rules.is_overdue(status="completed", due_at=NOW - DAY, now=NOW)
    assert not rules.is_overdue(status="withdrawn", due_at=NOW - DAY, now=NOW)
    assert not rules.is_overdue(status="assigned", due_at=None, now=NOW)
    assert not rules.is_overdue(status="assigned", due_at=NOW, now=NOW)


def test_due_within_a_week_is_due_soon() -> None:
    assert rules.is_due_soon(status="assigned", due_at=NOW + 7 * DAY, now=NOW)
    assert not rules.is_due_soon(status="assigned", due_at=NOW + 8 * DAY, now=NOW)
    assert not rules.is_due_soon(status="assigned", due_at=NOW - DAY, now=NOW)
    assert not rules.is_due_soon(status="completed", due_at=NOW + DAY, now=NOW)


def test_my_learning_order_overdue_then_due_date_then_undated_then_completed() -> None:
    rows = {
        "done": ("completed", NOW - 5 * DAY),
        "undated": ("assigned", None),
        "later": ("in_progress", NOW + 9 * DAY),
        "soon": ("assigned", NOW + DAY),
        "overdue_long": ("assigned", NOW - 9 * DAY),
        "overdue_short": ("in_progress", NOW - DAY),
    }
    ordered = sorted(
        rows,
        key=lambda name: rules.learning_sort_key(
            status=rows[name][0], due_at=rows[name][1], assigned_at=NOW - 30 * DAY, now=NOW
        ),
    )
    assert ordered == ["overdue_long", "overdue_short", "soon", "later", "undated", "done"]


@given(
    st.sampled_from(["assigned", "in_progress", "completed"]),
    st.one_of(st.none(), st.integers(min_value=-1000, max_value=1000)),
)
def test_overdue_always_sorts_before_anything_not_overdue(status, offset_hours) -> None:  # type: ignore[no-untyped-def]
    due = None if offset_hours is None else NOW + dt.timedelta(hours=offset_hours)
    overdue_key = rules.learning_sort_key(
        status="assigned", due_at=NOW + dt.timedelta(hours=-2000), assigned_at=NOW, now=NOW
    )
    key = rules.learning_sort_key(status=status, due_at=due, assigned_at=NOW, now=NOW)
    if not rules.is_overdue(status=status, due_at=due, now=NOW):
        assert overdue_key < key


def test_reactivated_enrolment_keeps_its_history() -> None:
    assert rules.reactivated_status(started=False, completed=False) == "assigned"
    assert rules.reactivated_status(started=True, completed=False) == "in_progress"
    assert rules.reactivated_status(started=True, completed=True) == "completed"


def test_due_date_must_be_in_the_future() -> None:
    assert rules.due_date_problem(due_at=None, now=NOW) is None
    assert rules.due_date_problem(due_at=NOW + DAY, now=NOW) is None
    assert rules.due_date_problem(due_at=NOW, now=NOW) == "The due date must be in the future."
