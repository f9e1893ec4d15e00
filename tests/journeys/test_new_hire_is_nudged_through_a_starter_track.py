"""Journey: four weeks of a starter track, nudged. A new hire in New York is assigned "Sales
Starter" (due in 14 days) early on a Monday morning. The organisation runs the Starter
campaigns: a welcome with a calendar invitation, a reminder at day 3 if not started, due-soon
3 days before, overdue every 2 days (at most 3 times) and the manager told after 5 days
overdue, and a congratulation on completion. The scheduler runs every hour, in frozen time.

Everything arrives inside the person's own send window (weekdays 09:00-17:00 in New York; the
manager's in London), nothing twice, the overdue repeats stop at 3, and the manager hears once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import PersonFactory
from uptake.core.actor import Actor
from uptake.nudges import services
from uptake.nudges.dispatch import dispatch_due
from uptake.nudges.models import Nudge
from uptake.nudges.sweep import sweep
from uptake.nudges.tests.conftest import enrol, make_course
from uptake.progress import services as progress

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("journey")
NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
ASSIGNED = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # Monday 03:00 in New York
COMPLETES = dt.datetime(2026, 3, 24, 15, 30, tzinfo=dt.UTC)  # Tuesday, week 4


def _in_window(at: dt.datetime, tz: ZoneInfo) -> bool:
    local = at.astimezone(tz)
    return local.isoweekday() <= 5 and dt.time(9) <= local.time() < dt.time(17)


def test_a_new_hire_is_nudged_through_four_weeks_of_a_starter_track(
    tenant, smtp_mail, django_capture_on_commit_callbacks
):
    manager = PersonFactory(
        tenant=tenant, first_name="Maria", email="maria@acme.test", time_zone="Europe/London"
    )
    hire = PersonFactory(
        tenant=tenant,
        first_name="Noah",
        email="noah@acme.test",
        time_zone="America/New_York",
        manager=manager,
    )
    course = make_course(tenant, "Sales Starter")
    with time_machine.travel(ASSIGNED - dt.timedelta(days=1), tick=False):
        services.set_policy(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            window_start=dt.time(9),
            window_end=dt.time(17),
            weekdays="12345",
            weekly_cap=3,
        )
        campaigns = [
            dict(name="Welcome", trigger="assigned", attach_calendar=True, priority=5),
            dict(name="Day 3", trigger="not_started", days=3, priority=3),
            dict(name="Due soon", trigger="due_soon", days=3, priority=4),
            dict(
                name="Overdue",
                trigger="overdue",
                repeat_every_days=2,
                max_repeats=3,
                escalate_after_days=5,
                priority=6,
            ),
            dict(name="Well done", trigger="completed", priority=2),
        ]
        for c in campaigns:
            created = services.create_campaign(
                actor=SYSTEM,
                tenant_id=tenant.pk,
                data=services.CampaignData(channels=("email", "in_app"), **c),
            )
            services.set_status(
                actor=SYSTEM, tenant_id=tenant.pk, campaign_id=created.pk, status="active"
            )
    enrollment = enrol(hire, course, assigned_at=ASSIGNED, due_at=ASSIGNED + dt.timedelta(days=14))

    received: list[tuple[dt.datetime, str, str]] = []
    now = ASSIGNED
    while now <= ASSIGNED + dt.timedelta(days=28):
        with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
            if now == COMPLETES.replace(minute=0):
                progress.complete_activity(
                    actor=Actor.person(hire.pk), enrollment=enrollment, activity=course.page
                )
            sweep(now=now)
            dispatch_due(now=now)
        for mail in smtp_mail.messages[len(received) :]:
            received.append((now, mail.rcpt_tos[0], mail.subject))
        now += dt.timedelta(hours=1)

    to_hire = [(at, subject) for at, rcpt, subject in received if rcpt == "noah@acme.test"]
    to_manager = [(at, subject) for at, rcpt, subject in received if rcpt == "maria@acme.test"]
    # Nothing in quiet hours: each in the recipient's own window.
    assert all(_in_window(at, NY) for at, _ in to_hire), to_hire
    assert all(_in_window(at, LONDON) for at, _ in to_manager), to_manager
    # The story, in order, at the first hour of each window.
    assert [(at.astimezone(NY).strftime("%a %d %H:%M"), subject) for at, subject in to_hire] == [
        ("Mon 02 09:00", "New for you: Sales Starter"),
        ("Thu 05 09:00", "Ready to start Sales Starter?"),
        ("Fri 13 09:00", "Sales Starter is due on March 16, 2026"),
        ("Mon 16 09:00", "Sales Starter is overdue"),
        ("Wed 18 09:00", "Sales Starter is overdue"),
        ("Fri 20 09:00", "Sales Starter is overdue"),  # the third and last
        ("Tue 24 11:00", "Well done: you completed Sales Starter"),
    ]
    # The manager hears once, on the first London working hour after 5 days overdue.
    assert [(at.astimezone(LONDON).strftime("%a %d %H:%M"), s) for at, s in to_manager] == [
        ("Mon 23 09:00", f"{hire.full_name} is overdue on Sales Starter"),
    ]
    # Nothing twice: one nudge per occurrence, one email per nudge.
    assert Nudge.objects.filter(status="dispatched").count() == len(received) == 8
    # The weekly cap (3) was never exceeded in any 7 days.
    times = [at for at, _ in to_hire]
    assert all(sum(1 for t in times if s <= t < s + dt.timedelta(days=7)) <= 3 for s in times)
