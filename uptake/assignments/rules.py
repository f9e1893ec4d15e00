"""Pure rules of assignments (no ORM): due dates from the due-date rule, and checking a rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from uptake.core.errors import FieldProblem

NONE = "none"
FIXED_DATE = "fixed_date"
DAYS_AFTER_ASSIGNMENT = "days_after_assignment"
DAYS_AFTER_HIRE = "days_after_hire"
KINDS = (NONE, FIXED_DATE, DAYS_AFTER_ASSIGNMENT, DAYS_AFTER_HIRE)

# How a person's due date was found (stored on the link, shown by "explain").
BASIS_NONE = "none"
BASIS_FIXED = "fixed"
BASIS_ASSIGNMENT = "assignment"
BASIS_HIRE = "hire"
BASIS_NO_HIRE_DATE = "no_hire_date"

MAX_DAYS = 3650


@dataclass(frozen=True)
class Due:
    date: dt.date | None
    basis: str


def due_rule_problems(
    *, kind: str, days: int | None, fixed: dt.date | None, today: dt.date
) -> list[FieldProblem]:
    """What is wrong with a due-date rule (empty when it is valid)."""
    if kind not in KINDS:
        return [FieldProblem(_("Unknown due-date rule."), field="due_kind")]
    if kind == FIXED_DATE:
        if fixed is None:
            return [FieldProblem(_("Choose the due date."), field="due_date")]
        if fixed < today:
            return [FieldProblem(_("The due date has already passed."), field="due_date")]
    if kind in (DAYS_AFTER_ASSIGNMENT, DAYS_AFTER_HIRE):
        if days is None:
            return [FieldProblem(_("Say how many days."), field="due_days")]
        if not 0 <= days <= MAX_DAYS:
            return [
                FieldProblem(
                    _("Days must be between 0 and %(max)d.") % {"max": MAX_DAYS}, field="due_days"
                )
            ]
    return []


def due_date(
    *,
    kind: str,
    days: int | None,
    fixed: dt.date | None,
    assigned_on: dt.date,
    hire_date: dt.date | None,
) -> Due:
    """A person's due date under the rule. Someone without a hire date under "days after hire"
    falls back to the assignment date + N (basis "no_hire_date", so explain can say so)."""
    if kind == FIXED_DATE:
        return Due(fixed, BASIS_FIXED)
    if kind == DAYS_AFTER_ASSIGNMENT:
        return Due(assigned_on + dt.timedelta(days=days or 0), BASIS_ASSIGNMENT)
    if kind == DAYS_AFTER_HIRE:
        if hire_date is None:
            return Due(assigned_on + dt.timedelta(days=days or 0), BASIS_NO_HIRE_DATE)
        return Due(hire_date + dt.timedelta(days=days or 0), BASIS_HIRE)
    return Due(None, BASIS_NONE)


def end_of_day(day: dt.date | None, time_zone: str) -> dt.datetime | None:
    """Due "on day D" means until the end of D where the person is (UTC if the zone is unknown)."""
    if day is None:
        return None
    try:
        zone: dt.tzinfo = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone)


def basis_text(basis: str, *, days: int | None) -> str:
    """Explain a due date in words."""
    n = days or 0
    if basis == BASIS_HIRE:
        return _("due %(n)d days after the hire date") % {"n": n}
    if basis == BASIS_NO_HIRE_DATE:
        return _("due %(n)d days after being assigned, because no hire date is recorded") % {"n": n}
    if basis == BASIS_ASSIGNMENT:
        return _("due %(n)d days after being assigned") % {"n": n}
    if basis == BASIS_FIXED:
        return _("due on a fixed date")
    return _("no due date")
