"""Pure rules of enrolment (no ORM, no I/O): overdue, due soon, the order of My learning,
what a re-activated enrolment's status is, and due-date checks."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

ASSIGNED, IN_PROGRESS, COMPLETED, WITHDRAWN = "assigned", "in_progress", "completed", "withdrawn"
CLOSED_STATUSES = frozenset({COMPLETED, WITHDRAWN})
OVERDUE = "overdue"  # a derived status, usable as a filter value

DUE_SOON = dt.timedelta(days=7)


def is_overdue(*, status: str, due_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Past its due date and neither completed nor withdrawn."""
    return due_at is not None and due_at < now and status not in CLOSED_STATUSES


def is_due_soon(*, status: str, due_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Due within DUE_SOON from now (not yet overdue), and still open."""
    return due_at is not None and status not in CLOSED_STATUSES and now <= due_at <= now + DUE_SOON


def learning_sort_key(
    *,
    status: str,
    due_at: dt.datetime | None,
    assigned_at: dt.datetime,
    now: dt.datetime,
) -> tuple[int, float, float]:
    """Order of My learning: overdue first (most overdue on top), then open work by due date
    (no due date after dated ones, newest assignment first), completed last (newest first)."""
    due = due_at.timestamp() if due_at is not None else float("inf")
    newest_first = -assigned_at.timestamp()
    if is_overdue(status=status, due_at=due_at, now=now):
        return (0, due, newest_first)
    if status == COMPLETED:
        return (2, 0.0, newest_first)
    return (1, due, newest_first)


def reactivated_status(*, started: bool, completed: bool) -> str:
    """The status a withdrawn enrolment returns to: its history is kept, so a learner who had
    finished stays finished and one who had started carries on."""
    if completed:
        return COMPLETED
    if started:
        return IN_PROGRESS
    return ASSIGNED


def due_date_problem(*, due_at: dt.datetime | None, now: dt.datetime) -> str | None:
    """Why a due date cannot be set by hand, or None when it can (none, or in the future)."""
    if due_at is None:
        return None
    if due_at <= now:
        return _("The due date must be in the future.")
    return None
