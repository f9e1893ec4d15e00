"""A cmi5 AU launch round trip in a real browser: the author imports a zip with a tiny AU
(HTML + JavaScript written for the test), the learner launches it from the course player; the
AU reads its launch parameters, POSTs the fetch URL, GETs LMS.LaunchData and sends initialized,
completed, passed and terminated, then returns to the player. The satisfied statement and the
learner's progress are checked afterwards."""

from __future__ import annotations

import json

import pytest

from tests.factories import PASSWORD
from uptake.cmi5 import rules
from uptake.cmi5.models import AssignableUnit, AuResult, Session
from uptake.cmi5.tests.conftest import enrol
from uptake.cmi5.tests.content import au_package
from uptake.enrollment.models import Enrollment
from uptake.xapi.models import Statement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, person):  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(person.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_cmi5_au_imported_launched_and_satisfied_in_the_browser(
    page, live_server, author, learner, course
):
    from playwright.sync_api import expect

    _log_in(page, live_server, author)
    page.goto(f"{live_server.url}/authoring/{course.pk}/")
    page.get_by_label("cmi5 course package (cmi5.xml or .zip)").set_input_files(
        {"name": "fire.zip", "mimeType": "application/zip", "buffer": au_package()}
    )
    page.get_by_role("button", name="Import cmi5 course").click()
    expect(page.get_by_text("cmi5 course “Fire safety” imported: 1 AU,")).to_be_visible()
    page.context.clear_cookies()

    enrollment = enrol(learner, course)
    activity_id = AssignableUnit.objects.get().activity_id
    _log_in(page, live_server, learner)
    page.goto(f"{live_server.url}/learn/{enrollment.pk}/{activity_id}/")
    page.get_by_role("button", name="Start").click()
    frame = page.frame_locator("#cmi5-frame")
    expect(
        frame.get_by_text("Ready: mode Normal, moveOn CompletedAndPassed, mastery 0.8.")
    ).to_be_visible()
    frame.get_by_role("button", name="Answer and finish").click()
    # The AU follows returnURL: the whole player reloads with the new progress.
    expect(page.locator("#cmi5-status")).to_have_text("You met this unit's requirement.")
    expect(page.get_by_text("Course completed — 100%")).to_be_visible()

    verbs = [json.loads(s.data)["verb"]["id"] for s in Statement.objects.order_by("stored", "pk")]
    assert verbs == [
        rules.LAUNCHED, rules.INITIALIZED, rules.COMPLETED, rules.PASSED, rules.SATISFIED,
        rules.TERMINATED,
    ]  # fmt: skip
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.progress_percent) == (Enrollment.Status.COMPLETED, 100)
    assert AuResult.objects.get().score_scaled == 0.9
    assert Session.objects.get().terminated_at is not None
