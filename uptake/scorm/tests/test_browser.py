"""SCORM 1.2 and 2004 packages written for the tests, played in a real browser: answer, exit,
resume and complete, with the run-time data and Uptake progress checked afterwards."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD
from uptake.core.actor import Actor
from uptake.enrollment.models import Enrollment
from uptake.scorm import services
from uptake.scorm.models import Item, ScoState
from uptake.scorm.tests.conftest import enrol, upload_file
from uptake.scorm.tests.packages import browser_12, browser_2004

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, person):  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(person.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _log_out(page, live_server):  # type: ignore[no-untyped-def]
    page.context.clear_cookies()


def test_scorm_12_package_uploaded_played_suspended_resumed_and_completed(
    page, live_server, author, learner, scorm_activity
):
    from playwright.sync_api import expect

    # The author uploads the package on the activity's authoring screen.
    _log_in(page, live_server, author)
    page.goto(f"{live_server.url}/authoring/activities/{scorm_activity.pk}/")
    page.get_by_label("SCORM package (.zip)").set_input_files(
        {"name": "fire-12.zip", "mimeType": "application/zip", "buffer": browser_12().zip()}
    )
    page.get_by_role("button", name="Upload package").click()
    expect(
        page.get_by_text("SCORM 1.2 package “Fire safety 1.2” uploaded: 2 files.")
    ).to_be_visible()
    # The author tries it out: it plays, and nothing is recorded.
    page.get_by_role("link", name="Preview the package").click()
    preview = page.frame_locator("#scorm-frame")
    expect(preview.get_by_text("Welcome: entry ab-initio, status not attempted.")).to_be_visible()
    preview.get_by_role("button", name="Save and exit").click()
    expect(preview.get_by_text("Saved (bad score refused: false 405).")).to_be_visible()
    assert not ScoState.objects.exists()
    _log_out(page, live_server)

    enrollment = enrol(learner, scorm_activity.course)
    _log_in(page, live_server, learner)
    url = f"{live_server.url}/learn/{enrollment.pk}/{scorm_activity.pk}/"
    page.goto(url)
    sco = page.frame_locator("#scorm-frame")
    expect(sco.get_by_text("Welcome: entry ab-initio, status not attempted.")).to_be_visible()
    sco.get_by_label("What colour is a fire extinguisher?").fill("blue")
    sco.get_by_role("button", name="Save and exit").click()
    expect(sco.get_by_text("Saved (bad score refused: false 405).")).to_be_visible()
    expect(page.locator("#scorm-status")).to_have_text(
        "Your progress is saved: you can come back and continue where you left off."
    )

    # Coming back: the SCO resumes where the learner left off.
    page.goto(url)
    sco = page.frame_locator("#scorm-frame")
    expect(sco.get_by_text("Welcome back: you were at question-1.")).to_be_visible()
    answer = sco.get_by_label("What colour is a fire extinguisher?")
    expect(answer).to_have_value("blue")
    answer.fill("red")
    sco.get_by_role("button", name="Submit answer").click()
    expect(sco.get_by_text("Correct: well done.")).to_be_visible()
    expect(page.locator("#scorm-status")).to_have_text(
        "Activity completed. Course completed — 100%."
    )

    page.goto(url)
    expect(page.get_by_text("You completed this activity.")).to_be_visible()
    expect(page.get_by_text("100% complete").first).to_be_visible()
    state = ScoState.objects.get(enrollment=enrollment)
    assert state.total_seconds == 135
    assert (state.completion_status, state.success_status, state.score_percent) == (
        "completed",
        "unknown",
        100.0,
    )
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED


def test_scorm_2004_two_scos_flow_on_suspend_resume_and_complete(
    page, live_server, author, learner, scorm_activity
):
    from playwright.sync_api import expect

    services.upload_package(
        actor=Actor.person(author.pk),
        activity=scorm_activity,
        upload=upload_file(browser_2004().zip()),
    )
    lesson, check = Item.objects.filter(package__activity=scorm_activity).order_by("position")
    enrollment = enrol(learner, scorm_activity.course)
    _log_in(page, live_server, learner)
    url = f"{live_server.url}/learn/{enrollment.pk}/{scorm_activity.pk}/"
    page.goto(url)
    toc = page.get_by_role("navigation", name="Contents of this package")
    expect(toc.get_by_role("link", name="Lesson")).to_have_attribute("aria-current", "page")

    # The lesson completes itself and asks to continue: the player moves to the check.
    page.frame_locator("#scorm-frame").get_by_role("button", name="I have read this").click()
    expect(page).to_have_url(re.compile(rf"\?item={check.pk}$"))
    expect(toc.get_by_role("link", name=re.compile("Lesson"))).to_contain_text("done")
    sco = page.frame_locator("#scorm-frame")
    expect(sco.get_by_text("Welcome: entry ab-initio.")).to_be_visible()
    sco.get_by_label("What colour is a fire extinguisher?").fill("re")
    sco.get_by_role("button", name="Save and exit").click()
    expect(sco.get_by_text("Saved.")).to_be_visible()

    # Back later, through the contents (choice navigation): the check resumes.
    page.goto(url + f"?item={lesson.pk}")
    page.get_by_role("navigation", name="Contents of this package").get_by_role(
        "link", name="Check"
    ).click()
    sco = page.frame_locator("#scorm-frame")
    expect(sco.get_by_text("Welcome back: you were at question-1.")).to_be_visible()
    answer = sco.get_by_label("What colour is a fire extinguisher?")
    expect(answer).to_have_value("re")
    answer.fill("red")
    sco.get_by_role("button", name="Submit answer").click()
    expect(sco.get_by_text("Correct: well done.")).to_be_visible()
    expect(page.locator("#scorm-status")).to_have_text(
        "Activity completed. Course completed — 100%."
    )

    state = ScoState.objects.get(enrollment=enrollment, item=check)
    assert (state.success_status, state.score_percent, state.total_seconds) == (
        "passed",
        100.0,
        135,
    )
    assert state.attempt == 2  # a normal exit ends the attempt: the next launch starts afresh
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED


def test_a_sco_that_finishes_while_the_page_goes_away_is_saved_and_resumed(
    page, live_server, author, learner, scorm_activity
):
    from playwright.sync_api import expect

    from uptake.scorm.tests.packages import on_leave_12

    services.upload_package(
        actor=Actor.person(author.pk),
        activity=scorm_activity,
        upload=upload_file(on_leave_12().zip()),
    )
    enrollment = enrol(learner, scorm_activity.course)
    _log_in(page, live_server, learner)
    url = f"{live_server.url}/learn/{enrollment.pk}/{scorm_activity.pk}/"
    page.goto(url)
    expect(
        page.frame_locator("#scorm-frame").get_by_text("Entry ab-initio at the start.")
    ).to_be_visible()
    page.get_by_role("link", name="Back to the course").click()
    _wait_for(lambda: ScoState.objects.get(enrollment=enrollment).entry == "resume")
    state = ScoState.objects.get(enrollment=enrollment)
    assert (state.entry, state.total_seconds, state.session_key) == ("resume", 12, "")
    page.goto(url)
    expect(
        page.frame_locator("#scorm-frame").get_by_text("Entry resume at slide-5.")
    ).to_be_visible()
    # Leave again, and let that last save land before the test's database goes away.
    page.get_by_role("link", name="Back to the course").click()
    _wait_for(lambda: ScoState.objects.get(enrollment=enrollment).total_seconds == 24)


def _wait_for(condition, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    import time

    from django.db import OperationalError

    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OperationalError:
            pass  # the test database (in-memory SQLite, shared cache) is busy with the server
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)
