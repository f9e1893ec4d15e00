"""Badges in words: how an assignment stands, in the viewer's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from uptake.web import display

UTC = dt.UTC
TODAY = dt.date(2025, 3, 3)


def _badge(**kw):  # type: ignore[no-untyped-def]
    args: dict[str, Any] = {
        "status": "in_progress",
        "due_at": None,
        "is_overdue": False,
        "is_due_soon": False,
        "today": TODAY,
        "tz": UTC,
    }
    args.update(kw)
    return display.status_badge(**args)


def test_completed_wins_over_a_past_due_date():
    badge = _badge(status="completed", due_at=dt.datetime(2025, 1, 1, tzinfo=UTC), is_overdue=False)
    assert badge == display.Badge("done", "Completed")


def test_overdue_says_overdue():
    assert _badge(due_at=dt.datetime(2025, 3, 1, tzinfo=UTC), is_overdue=True) == display.Badge(
        "overdue", "Overdue"
    )


def test_due_in_three_days_in_words():
    badge = _badge(due_at=dt.datetime(2025, 3, 6, 12, tzinfo=UTC), is_due_soon=True)
    assert badge == display.Badge("soon", "Due in 3 days")


def test_due_date_is_counted_in_the_viewers_time_zone():
    # 23:30 UTC on the 3rd is already the 4th in Tokyo: "tomorrow" for a viewer there.
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    badge = _badge(due_at=dt.datetime(2025, 3, 3, 23, 30, tzinfo=UTC), today=TODAY, tz=tokyo)
    assert badge.text == "Due tomorrow"


def test_due_today():
    assert _badge(due_at=dt.datetime(2025, 3, 3, 18, tzinfo=UTC)).text == "Due today"


def test_without_a_due_date_the_status_is_shown():
    assert _badge(status="assigned").text == "Not started"
    assert _badge(status="in_progress").text == "In progress"
