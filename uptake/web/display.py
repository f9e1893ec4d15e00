"""Pure presentation rules for the learner screens (no ORM, no I/O): badges in words.

Status is never shown by colour alone: every badge carries its text, and the CSS class only
adds the colour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

COMPLETED = "completed"
IN_PROGRESS = "in_progress"


@dataclass(frozen=True)
class Badge:
    css: str  # "overdue" | "soon" | "done" | ""
    text: str


def status_badge(
    *,
    status: str,
    due_at: dt.datetime | None,
    is_overdue: bool,
    is_due_soon: bool,
    today: dt.date,
    tz: dt.tzinfo,
) -> Badge:
    """The one badge that says how an assignment stands, in the viewer's time zone.

    Completed wins over everything; then overdue; then a due date in words ("Due in 3 days");
    then the plain status.
    """
    if status == COMPLETED:
        return Badge("done", _("Completed"))
    if is_overdue:
        return Badge("overdue", _("Overdue"))
    if due_at is not None:
        days = (due_at.astimezone(tz).date() - today).days
        css = "soon" if is_due_soon else ""
        if days <= 0:
            return Badge(css or "soon", _("Due today"))
        if days == 1:
            return Badge(css, _("Due tomorrow"))
        return Badge(
            css, ngettext("Due in %(days)d day", "Due in %(days)d days", days) % {"days": days}
        )
    if status == IN_PROGRESS:
        return Badge("", _("In progress"))
    return Badge("", _("Not started"))
