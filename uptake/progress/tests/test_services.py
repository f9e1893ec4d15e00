"""Opening and completing activities, knowledge-check attempts, and course completion."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import transaction

from uptake.analytics.models import LearningEvent, Verb
from uptake.core.errors import NotFound, ValidationFailed
from uptake.enrollment import services as enrolment
from uptake.enrollment.events import EnrollmentCompleted
from uptake.enrollment.models import Enrollment
from uptake.enrollment.tests import builders
from uptake.enrollment.tests.builders import SYSTEM
from uptake.progress import selectors, services
from uptake.progress.models import ActivityCompletion, Attempt

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def enrollment(tenant, kit, learner) -> Enrollment:  # type: ignore[no-untyped-def]
    e: Enrollment = enrolment.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    LearningEvent.objects.all().delete()
    return e


def verbs() -> list[str]:
    return list(LearningEvent.objects.order_by("id").values_list("verb", flat=True))


# --- open_activity -------------------------------------------------------------------------------


def test_opening_an_activity_starts_the_enrolment_and_remembers_it(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    services.open_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[1])
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.started_at) == ("in_progress", NOW)
    assert (enrollment.last_activity_id, enrollment.last_activity_at) == (kit.pages[1].pk, NOW)
    assert verbs() == ["launched", "active_session"]
    launched = LearningEvent.objects.get(verb=Verb.LAUNCHED)
    assert (launched.object_type, launched.object_id, launched.course_id) == (
        "activity",
        kit.pages[1].pk,
        kit.course.pk,
    )


def test_active_session_is_recorded_once_per_person_per_day(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    services.open_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[0])
    services.open_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[1])
    with time_machine.travel(NOW + dt.timedelta(hours=10), tick=False):
        services.open_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[1])
    assert LearningEvent.objects.filter(verb=Verb.ACTIVE_SESSION).count() == 1
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        services.open_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[1])
    assert LearningEvent.objects.filter(verb=Verb.ACTIVE_SESSION).count() == 2
    assert LearningEvent.objects.filter(verb=Verb.LAUNCHED).count() == 4


def test_active_session_day_is_the_learners_own_day(tenant, kit) -> None:  # type: ignore[no-untyped-def]
    # 23:30 and 00:30 the next day in Auckland are one UTC day but two local days.
    kiwi = builders.person(tenant, time_zone="Pacific/Auckland")
    e = enrolment.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=kiwi, course=kit.course)
    evening = dt.datetime(2025, 3, 10, 10, 30, tzinfo=dt.UTC)  # 23:30 NZDT
    with time_machine.travel(evening, tick=False):
        services.open_activity(actor=SYSTEM, enrollment=e, activity=kit.pages[0])
    with time_machine.travel(evening + dt.timedelta(hours=1), tick=False):
        services.open_activity(actor=SYSTEM, enrollment=e, activity=kit.pages[0])
    assert LearningEvent.objects.filter(verb=Verb.ACTIVE_SESSION).count() == 2


def test_activity_of_another_course_is_not_found(tenant, enrollment) -> None:  # type: ignore[no-untyped-def]
    other = builders.make_course(tenant, slug="other")
    with pytest.raises(NotFound):
        services.open_activity(actor=SYSTEM, enrollment=enrollment, activity=other.pages[0])
    with pytest.raises(NotFound):
        services.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=other.pages[0])


def test_withdrawn_enrolment_refuses_progress(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    enrolment.withdraw_enrollment(actor=SYSTEM, enrollment=enrollment)
    for call in (services.open_activity, services.complete_activity):
        with pytest.raises(ValidationFailed) as exc:
            call(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[0])
        assert exc.value.detail.startswith("This enrolment was withdrawn")
    with pytest.raises(ValidationFailed):
        services.submit_attempt(
            actor=SYSTEM, enrollment=enrollment, activity=kit.quiz, answers=kit.right_answers
        )
    assert ActivityCompletion.objects.count() == 0


# --- complete_activity ---------------------------------------------------------------------------


def test_completing_an_activity_updates_percent_and_is_idempotent(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    services.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[0])
    assert (enrollment.status, enrollment.progress_percent, enrollment.started_at) == (
        "in_progress",
        33,
        NOW,
    )
    services.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[0])
    enrollment.refresh_from_db()
    assert enrollment.progress_percent == 33
    assert ActivityCompletion.objects.count() == 1
    assert verbs() == ["activity_completed"]


def test_optional_activities_do_not_count_towards_percent(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    kit = builders.make_course(tenant, quiz=False, optional_page=True)
    e = enrolment.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    assert kit.optional is not None
    services.complete_activity(actor=SYSTEM, enrollment=e, activity=kit.optional)
    assert e.progress_percent == 0
    assert e.status == "in_progress"


def test_a_knowledge_check_cannot_be_marked_complete(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        services.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.quiz)
    assert exc.value.detail == (
        "A knowledge check is completed by passing it, not by marking it complete."
    )


def test_course_completes_only_when_the_required_quiz_is_passed(
    enrollment, kit, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    for page in kit.pages:
        services.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=page)
    assert (enrollment.status, enrollment.progress_percent) == ("in_progress", 66)
    failed = services.submit_attempt(
        actor=SYSTEM, enrollment=enrollment, activity=kit.quiz, answers=kit.wrong_answers
    )
    assert failed.passed is False
    assert (enrollment.status, enrollment.progress_percent) == ("in_progress", 66)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        passed = services.submit_attempt(
            actor=SYSTEM, enrollment=enrollment, activity=kit.quiz, answers=kit.right_answers
        )
    assert (passed.number, passed.score_percent, passed.passed) == (2, 100, True)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.progress_percent, enrollment.completed_at) == (
        "completed",
        100,
        NOW,
    )
    assert LearningEvent.objects.filter(verb=Verb.COURSE_COMPLETED).count() == 1
    from uptake.core import bus

    published: list[Any] = []
    original = bus.dispatch
    bus.dispatch = published.append  # type: ignore[assignment]
    try:
        for callback in callbacks:
            callback()
    finally:
        bus.dispatch = original  # type: ignore[assignment]
    assert (
        EnrollmentCompleted(
            tenant_id=enrollment.tenant_id,
            enrollment_id=enrollment.pk,
            person_id=enrollment.person_id,
            course_id=enrollment.course_id,
            completed_at=NOW,
        )
        in published
    )


def test_an_optional_quiz_is_not_needed_for_completion(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    kit = builders.make_course(tenant, pages=1, quiz_required=False)
    e = enrolment.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    services.complete_activity(actor=SYSTEM, enrollment=e, activity=kit.pages[0])
    assert (e.status, e.progress_percent) == ("completed", 100)


def test_completed_enrolment_stays_completed(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    for page in kit.pages:
        services.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=page)
    services.submit_attempt(
        actor=SYSTEM, enrollment=enrollment, activity=kit.quiz, answers=kit.right_answers
    )
    assert enrollment.status == "completed"
    # Reopening and failing a retake never makes it regress.
    services.open_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[0])
    services.submit_attempt(
        actor=SYSTEM, enrollment=enrollment, activity=kit.quiz, answers=kit.wrong_answers
    )
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.progress_percent, enrollment.completed_at) == (
        "completed",
        100,
        NOW,
    )
    assert LearningEvent.objects.filter(verb=Verb.COURSE_COMPLETED).count() == 1


def test_a_rolled_back_completion_leaves_no_event(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[0])
        raise RuntimeError("boom")
    assert LearningEvent.objects.count() == 0
    assert ActivityCompletion.objects.count() == 0
    enrollment.refresh_from_db()
    assert enrollment.progress_percent == 0


# --- submit_attempt ------------------------------------------------------------------------------


def test_attempt_is_graded_with_feedback_and_events(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    q1, q2 = kit.questions
    yes1 = q1.choices.get(is_correct=True)
    no2 = q2.choices.get(is_correct=False)
    attempt = services.submit_attempt(
        actor=SYSTEM,
        enrollment=enrollment,
        activity=kit.quiz,
        answers={str(q1.pk): [yes1.pk], str(q2.pk): [no2.pk]},
    )
    assert (attempt.number, attempt.score_percent, attempt.passed) == (1, 50, False)
    assert attempt.results == {
        str(q1.pk): {"correct": True, "feedback": "Right."},
        str(q2.pk): {"correct": False, "feedback": "Nope"},
    }
    assert verbs() == ["attempt_submitted", "failed"]
    assert LearningEvent.objects.get(verb=Verb.FAILED).value == 50.0
    assert attempt.enrollment.status == "in_progress"


def test_attempts_are_numbered_and_refused_when_used_up(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    kit = builders.make_course(tenant, attempts_allowed=2)
    e = enrolment.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    for expected in (1, 2):
        attempt = services.submit_attempt(
            actor=SYSTEM, enrollment=e, activity=kit.quiz, answers=kit.wrong_answers
        )
        assert attempt.number == expected
    with pytest.raises(ValidationFailed) as exc:
        services.submit_attempt(
            actor=SYSTEM, enrollment=e, activity=kit.quiz, answers=kit.right_answers
        )
    assert exc.value.detail == "You have used all 2 attempts at “Knowledge check”."
    assert Attempt.objects.count() == 2


def test_unanswered_questions_are_refused_and_listed(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    q1, q2 = kit.questions
    with pytest.raises(ValidationFailed) as exc:
        services.submit_attempt(
            actor=SYSTEM,
            enrollment=enrollment,
            activity=kit.quiz,
            answers={str(q1.pk): [q1.choices.first().pk]},  # type: ignore[union-attr]
        )
    assert exc.value.detail == (
        "Answer every question before submitting: question 2 is not answered."
    )
    assert [(p.field, p.message) for p in exc.value.errors] == [
        (str(q2.pk), "Question 2 is not answered.")
    ]
    assert Attempt.objects.count() == 0
    assert LearningEvent.objects.count() == 0


def test_a_choice_of_another_question_is_refused(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    q1, q2 = kit.questions
    with pytest.raises(ValidationFailed):
        services.submit_attempt(
            actor=SYSTEM,
            enrollment=enrollment,
            activity=kit.quiz,
            answers={str(q1.pk): [q2.choices.first().pk], str(q2.pk): [q2.choices.first().pk]},  # type: ignore[union-attr]
        )


def test_passing_marks_the_quiz_done(enrollment, kit) -> None:  # type: ignore[no-untyped-def]
    services.submit_attempt(
        actor=SYSTEM, enrollment=enrollment, activity=kit.quiz, answers=kit.right_answers
    )
    state = selectors.course_progress(enrollment=enrollment).activities[kit.quiz.pk]
    assert (state.done, state.passed, state.attempts_used, state.best_score) == (True, True, 1, 100)
    assert enrollment.progress_percent == 33
    assert verbs() == ["attempt_submitted", "passed", "activity_completed"]


def test_shuffled_questions_are_graded_whatever_their_order(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    kit = builders.make_course(tenant, shuffle=True, questions=6, pages=0)
    e = enrolment.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    attempt = services.submit_attempt(
        actor=SYSTEM, enrollment=e, activity=kit.quiz, answers=kit.right_answers
    )
    assert attempt.passed is True
    assert e.status == "completed"
