"""Journeys in a real browser (headless Chromium through Playwright) against a live server."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.factories import PASSWORD
from uptake.web.tests.builders import enrol, make_course, make_person, starter_course

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username):  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_learner_completes_an_assignment_from_my_learning_and_sees_100_percent(
    page, live_server, tenant
):
    from playwright.sync_api import expect

    learner = make_person(tenant, first_name="Lea", last_name="Learner")
    starter = starter_course(tenant)
    enrol(learner, starter.course, due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))

    _log_in(page, live_server, learner.user.username)
    expect(page.get_by_role("heading", name="My learning", level=1)).to_be_visible()
    expect(page.get_by_text("Due in 3 days")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Start")).click()

    expect(page.get_by_role("heading", name="Welcome to sales")).to_be_visible()
    expect(page.get_by_text("Our customers come first.")).to_be_visible()
    page.get_by_role("button", name="Mark as complete").click()
    expect(page.get_by_text("You completed this activity.")).to_be_visible()
    expect(page.get_by_text("50% complete")).to_be_visible()

    page.get_by_role("link", name=re.compile(r"^Next")).click()
    expect(page.get_by_role("heading", name="Check your knowledge")).to_be_visible()
    page.get_by_label("Customers").check()
    page.get_by_role("button", name="Submit answers").click()

    expect(page.get_by_text("Passed: you scored 100%")).to_be_visible()
    expect(page.get_by_text("Course completed — 100%")).to_be_visible()
    page.get_by_role("link", name="My learning").click()
    expect(page.get_by_text("100% complete")).to_be_visible()
    expect(page.locator(".badge", has_text="Completed")).to_be_visible()


def test_manager_logs_in_and_sees_each_reports_status(page, live_server, tenant):
    from playwright.sync_api import expect

    boss = make_person(tenant, first_name="Maria", last_name="Manager")
    ana = make_person(tenant, first_name="Ana", last_name="Late", manager=boss)
    ben = make_person(tenant, first_name="Ben", last_name="Done", manager=boss)
    now = dt.datetime.now(dt.UTC)
    enrol(ana, make_course(tenant, title="Data privacy"), due_at=now - dt.timedelta(days=2))
    starter = starter_course(tenant, title="Sales Starter", attempts_allowed=0)
    ben_enrolment = enrol(ben, starter.course)
    _complete_course(ben, ben_enrolment, starter)

    _log_in(page, live_server, boss.user.username)
    page.get_by_role("link", name="My team").click()
    expect(page.get_by_role("heading", name="My team", level=1)).to_be_visible()
    ana_card = page.locator(
        "section.team-member", has=page.get_by_role("heading", name=re.compile("Ana Late"))
    )
    ben_card = page.locator(
        "section.team-member", has=page.get_by_role("heading", name=re.compile("Ben Done"))
    )
    expect(ana_card.get_by_role("row", name=re.compile("Data privacy"))).to_contain_text("Overdue")
    expect(ben_card.get_by_role("row", name=re.compile("Sales Starter"))).to_contain_text(
        "Completed"
    )
    expect(ben_card.get_by_text("100% complete")).to_be_visible()


def _complete_course(person, enrollment, starter):  # type: ignore[no-untyped-def]
    from uptake.core.actor import Actor
    from uptake.progress.services import complete_activity, submit_attempt

    actor = Actor.person(person.pk)
    complete_activity(actor=actor, enrollment=enrollment, activity=starter.page)
    submit_attempt(
        actor=actor,
        enrollment=enrollment,
        activity=starter.quiz,
        answers={str(starter.question.pk): [starter.right.pk]},
    )
