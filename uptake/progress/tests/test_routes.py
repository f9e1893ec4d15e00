"""The progress API: a learner completes activities and submits knowledge checks in their own
enrolments only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from uptake.enrollment import services as enrolment
from uptake.enrollment.models import Enrollment
from uptake.enrollment.tests import builders
from uptake.enrollment.tests.builders import SYSTEM
from uptake.progress.models import ActivityCompletion, Attempt

pytestmark = pytest.mark.django_db


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def enrol(tenant: Any, person: Any, course: Any) -> Enrollment:
    e: Enrollment = enrolment.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=person, course=course
    )
    return e


def url(e: Enrollment, activity: Any, action: str) -> str:
    return f"/api/v1/progress/enrollments/{e.pk}/activities/{activity.pk}/{action}"


def test_learner_completes_an_activity(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    e = enrol(tenant, learner, kit.course)
    response = client_for(learner).post(url(e, kit.pages[0], "complete"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["progress_percent"]) == (e.pk, "in_progress", 33)


def test_submitting_an_attempt_returns_score_feedback_attempts_left_and_new_state(
    tenant, learner
) -> None:  # type: ignore[no-untyped-def]
    kit = builders.make_course(tenant, pages=0, attempts_allowed=3)
    e = enrol(tenant, learner, kit.course)
    client = client_for(learner)
    failed = client.post(
        url(e, kit.quiz, "attempts"),
        json.dumps({"answers": kit.wrong_answers}),
        content_type="application/json",
    )
    assert failed.status_code == 201, failed.content
    body = failed.json()
    assert (body["number"], body["score_percent"], body["passed"], body["attempts_left"]) == (
        1,
        0,
        False,
        2,
    )
    assert body["results"] == [
        {"question_id": q.pk, "correct": False, "feedback": "Nope"} for q in kit.questions
    ]
    assert body["enrollment"]["status"] == "in_progress"
    passed = client.post(
        url(e, kit.quiz, "attempts"),
        json.dumps({"answers": kit.right_answers}),
        content_type="application/json",
    ).json()
    assert (passed["passed"], passed["attempts_left"]) == (True, 1)
    assert passed["enrollment"]["status"] == "completed"
    assert passed["enrollment"]["progress_percent"] == 100


def test_unanswered_questions_are_a_problem_listing_them(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    e = enrol(tenant, learner, kit.course)
    response = client_for(learner).post(
        url(e, kit.quiz, "attempts"), json.dumps({"answers": {}}), content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [p["field"] for p in response.json()["errors"]] == [str(q.pk) for q in kit.questions]


def test_learner_cannot_touch_another_persons_enrolment(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    other = enrol(tenant, builders.person(tenant), kit.course)
    client = client_for(learner)
    assert client.post(url(other, kit.pages[0], "complete")).status_code == 404
    response = client.post(
        url(other, kit.quiz, "attempts"),
        json.dumps({"answers": kit.right_answers}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert client.get(f"/api/v1/progress/enrollments/{other.pk}").status_code == 404
    assert ActivityCompletion.objects.count() == 0
    assert Attempt.objects.count() == 0


def test_another_tenants_enrolment_or_activity_is_404(tenant, other_tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    foreign_kit = builders.make_course(other_tenant, slug="foreign")
    foreign = enrol(other_tenant, builders.person(other_tenant), foreign_kit.course)
    own = enrol(tenant, learner, kit.course)
    client = client_for(learner)
    assert client.post(url(foreign, foreign_kit.pages[0], "complete")).status_code == 404
    assert client.post(url(own, foreign_kit.pages[0], "complete")).status_code == 404
    assert ActivityCompletion.objects.count() == 0


def test_activity_of_another_course_is_404(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    other = builders.make_course(tenant, slug="other")
    e = enrol(tenant, learner, kit.course)
    assert client_for(learner).post(url(e, other.pages[0], "complete")).status_code == 404


def test_course_progress_per_activity(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    e = enrol(tenant, learner, kit.course)
    client = client_for(learner)
    client.post(url(e, kit.pages[0], "complete"))
    body = client.get(f"/api/v1/progress/enrollments/{e.pk}").json()
    states = {a["activity_id"]: a for a in body["activities"]}
    assert states[kit.pages[0].pk]["done"] is True
    assert states[kit.pages[1].pk]["done"] is False
    assert states[kit.quiz.pk]["attempts_left"] is None
    assert body["enrollment"]["progress_percent"] == 33
