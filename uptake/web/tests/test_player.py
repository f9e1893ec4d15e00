"""The course page and the course player: activities, completion, knowledge checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from uptake.enrollment.models import Enrollment
from uptake.web.tests.builders import enrol, make_course, make_person, starter_course

pytestmark = pytest.mark.django_db


def _url(name, enrollment, activity):  # type: ignore[no-untyped-def]
    return reverse(name, args=[enrollment.pk, activity.pk])


@pytest.fixture
def starter(tenant):  # type: ignore[no-untyped-def]
    return starter_course(tenant)


@pytest.fixture
def enrollment(learner, starter):  # type: ignore[no-untyped-def]
    return enrol(learner, starter.course)


def test_course_page_shows_the_outline_and_a_start_button(learner_client, starter, enrollment):
    html = learner_client.get(reverse("web:course", args=[starter.course.pk])).content.decode()
    assert "Basics" in html
    assert "Welcome to sales" in html and "Check your knowledge" in html
    assert (
        f'<a class="btn" href="{_url("web:activity", enrollment, starter.page)}">Start</a>' in html
    )


def test_course_page_offers_enrolment_when_not_enrolled(learner_client, starter):
    html = learner_client.get(reverse("web:course", args=[starter.course.pk])).content.decode()
    assert reverse("web:enrol", args=[starter.course.pk]) in html


def test_opening_a_page_shows_it_with_the_outline_and_marks_the_course_started(
    learner_client, starter, enrollment
):
    html = learner_client.get(_url("web:activity", enrollment, starter.page)).content.decode()
    assert "<p>Our <strong>customers</strong> come first.</p>" in html
    assert "Mark as complete" in html
    assert 'aria-current="page">' in html
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.IN_PROGRESS
    assert enrollment.last_activity_id == starter.page.pk


def test_mark_as_complete_records_progress(learner_client, starter, enrollment):
    response = learner_client.post(_url("web:activity_complete", enrollment, starter.page))
    assert response.status_code == 302
    html = learner_client.get(_url("web:activity", enrollment, starter.page)).content.decode()
    assert "You completed this activity." in html
    assert "50% complete" in html


def test_mark_as_complete_with_htmx_swaps_the_progress_and_the_outline(
    learner_client, starter, enrollment
):
    response = learner_client.post(
        _url("web:activity_complete", enrollment, starter.page), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="activity-status"' in html
    assert "50% complete" in html
    assert 'hx-swap-oob="true"' in html
    assert "<html" not in html


def test_wrong_answer_gets_feedback_and_a_try_again(learner_client, starter, enrollment):
    learner_client.post(
        _url("web:activity_submit", enrollment, starter.quiz),
        {f"q{starter.question.pk}": str(starter.wrong.pk)},
    )
    html = learner_client.get(_url("web:activity", enrollment, starter.quiz)).content.decode()
    assert "Not passed: you scored 0%, the pass mark is 100%" in html
    assert "<strong>Incorrect</strong>" in html
    assert "No: paperwork can wait." in html
    assert "1 attempt left." in html
    assert "Try again" in html
    # The form comes back only when the learner asks to try again.
    assert f'name="q{starter.question.pk}"' not in html
    retry = learner_client.get(_url("web:activity", enrollment, starter.quiz), {"retry": "1"})
    assert f'name="q{starter.question.pk}"' in retry.content.decode()


def test_passing_the_last_activity_completes_the_course(learner_client, starter, enrollment):
    learner_client.post(_url("web:activity_complete", enrollment, starter.page))
    learner_client.post(
        _url("web:activity_submit", enrollment, starter.quiz),
        {f"q{starter.question.pk}": str(starter.right.pk)},
    )
    html = learner_client.get(_url("web:activity", enrollment, starter.quiz)).content.decode()
    assert "Passed: you scored 100%" in html
    assert "<strong>Correct</strong>" in html
    assert "Yes: customers first." in html
    assert "Course completed — 100%" in html
    assert "Try again" not in html


def test_no_try_again_once_attempts_are_used_up(learner_client, tenant, learner):
    starter = starter_course(tenant, title="One shot", attempts_allowed=1)
    enrollment = enrol(learner, starter.course)
    learner_client.post(
        _url("web:activity_submit", enrollment, starter.quiz),
        {f"q{starter.question.pk}": str(starter.wrong.pk)},
    )
    html = learner_client.get(
        _url("web:activity", enrollment, starter.quiz), {"retry": "1"}
    ).content.decode()
    assert "You have used all your attempts." in html
    assert "Try again" not in html
    assert f'name="q{starter.question.pk}"' not in html
    # A forged second submission is refused with the service's reason.
    response = learner_client.post(
        _url("web:activity_submit", enrollment, starter.quiz),
        {f"q{starter.question.pk}": str(starter.right.pk)},
        follow=True,
    )
    assert 'class="message error"' in response.content.decode()


def test_unanswered_knowledge_check_is_refused_with_a_message(learner_client, starter, enrollment):
    response = learner_client.post(
        _url("web:activity_submit", enrollment, starter.quiz), {}, follow=True
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="message error"' in html
    assert f'name="q{starter.question.pk}"' in html


def test_another_persons_enrolment_is_not_found(learner_client, tenant, starter):
    colleague = make_person(tenant)
    theirs = enrol(colleague, starter.course)
    for response in (
        learner_client.get(_url("web:activity", theirs, starter.page)),
        learner_client.post(_url("web:activity_complete", theirs, starter.page)),
    ):
        assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Enrollment.Status.ASSIGNED


def test_another_tenants_enrolment_is_not_found(learner_client, other_tenant):
    foreign = starter_course(other_tenant, title="Globex course")
    theirs = enrol(make_person(other_tenant), foreign.course)
    assert learner_client.get(_url("web:activity", theirs, foreign.page)).status_code == 404


def test_an_activity_of_another_course_is_not_found(learner_client, tenant, enrollment):
    elsewhere = starter_course(tenant, title="Other course")
    assert learner_client.get(_url("web:activity", enrollment, elsewhere.page)).status_code == 404


@pytest.fixture
def mixed(tenant, learner):  # type: ignore[no-untyped-def]
    from django.core.files.base import ContentFile

    from tests.factories import ActivityFactory, ModuleFactory

    course = make_course(tenant, title="Mixed media")
    module = ModuleFactory(course=course)
    link = ActivityFactory(
        module=module, kind="link", url="https://example.com/guide", body_html=""
    )
    video_link = ActivityFactory(
        module=module, kind="video", url="https://video.example.com/v/1", body_html=""
    )
    video_file: Any = ActivityFactory(module=module, kind="video", body_html="")
    video_file.file.save("intro.mp4", ContentFile(b"\x00\x00"), save=True)
    document: Any = ActivityFactory(module=module, kind="file", body_html="")
    document.file.save("handbook.pdf", ContentFile(b"%PDF-1.4"), save=True)
    return {
        "enrollment": enrol(learner, course),
        "link": link,
        "video_link": video_link,
        "video_file": video_file,
        "document": document,
    }


def test_link_opens_in_a_new_tab_with_an_explanation(learner_client, mixed):
    html = learner_client.get(
        _url("web:activity", mixed["enrollment"], mixed["link"])
    ).content.decode()
    assert (
        '<a class="btn" href="https://example.com/guide" target="_blank" rel="noopener noreferrer">'
        in html
    )
    assert "opens in a new tab" in html
    assert "Mark as complete" in html


def test_uploaded_video_plays_in_the_page(learner_client, mixed):
    html = learner_client.get(
        _url("web:activity", mixed["enrollment"], mixed["video_file"])
    ).content.decode()
    file_url = reverse("catalog:activity_file", args=[mixed["video_file"].pk])
    assert f'<video controls preload="metadata" src="{file_url}">' in html


def test_video_on_another_site_is_a_link(learner_client, mixed):
    html = learner_client.get(
        _url("web:activity", mixed["enrollment"], mixed["video_link"])
    ).content.decode()
    assert 'href="https://video.example.com/v/1" target="_blank"' in html
    assert "<video" not in html


def test_file_is_a_download_link(learner_client, mixed):
    html = learner_client.get(
        _url("web:activity", mixed["enrollment"], mixed["document"])
    ).content.decode()
    file_url = reverse("catalog:activity_file", args=[mixed["document"].pk])
    assert f'href="{file_url}" download>Download the file</a>' in html


@pytest.fixture
def all_kinds(tenant, learner):  # type: ignore[no-untyped-def]
    from tests.factories import ActivityFactory, ChoiceFactory, ModuleFactory, QuestionFactory

    course = make_course(tenant, title="Every kind")
    quiz: Any = ActivityFactory(
        module=ModuleFactory(course=course), kind="quiz", pass_mark=100, body_html=""
    )
    multiple: Any = QuestionFactory(activity=quiz, kind="multiple", prompt="Pick the fruits")
    apple: Any = ChoiceFactory(question=multiple, text="Apple", is_correct=True)
    pear: Any = ChoiceFactory(question=multiple, text="Pear", is_correct=True)
    ChoiceFactory(question=multiple, text="Potato", is_correct=False)
    true_false: Any = QuestionFactory(activity=quiz, kind="true_false", prompt="Water is wet")
    ChoiceFactory(question=true_false, text="True", is_correct=True, feedback="Indeed.")
    ChoiceFactory(question=true_false, text="False", is_correct=False)
    short: Any = QuestionFactory(
        activity=quiz, kind="short", prompt="Capital of France?", accepted_answers=["Paris"]
    )
    return {
        "enrollment": enrol(learner, course),
        "quiz": quiz,
        "answers": {
            f"q{multiple.pk}": [str(apple.pk), str(pear.pk)],
            f"q{true_false.pk}": "true",
            f"q{short.pk}": " paris ",
        },
        "questions": (multiple, true_false, short),
    }


def test_each_question_kind_gets_its_own_input(learner_client, all_kinds):
    multiple, true_false, short = all_kinds["questions"]
    html = learner_client.get(
        _url("web:activity", all_kinds["enrollment"], all_kinds["quiz"])
    ).content.decode()
    assert html.count(f'type="checkbox" name="q{multiple.pk}"') == 3
    assert f'type="radio" name="q{true_false.pk}" value="true"' in html
    assert f'type="radio" name="q{true_false.pk}" value="false"' in html
    assert f'type="text" id="q{short.pk}" name="q{short.pk}"' in html
    assert f'<label for="q{short.pk}" class="sr-only">Your answer</label>' in html


def test_right_answers_of_every_kind_pass(learner_client, all_kinds):
    enrollment, quiz = all_kinds["enrollment"], all_kinds["quiz"]
    learner_client.post(_url("web:activity_submit", enrollment, quiz), all_kinds["answers"])
    html = learner_client.get(_url("web:activity", enrollment, quiz)).content.decode()
    assert "Passed: you scored 100%" in html
    assert html.count("<strong>Correct</strong>") == 3
    assert "Your answer: True" in html
    assert "Indeed." in html
    assert "Your answer: paris" in html
    assert "Course completed — 100%" in html


def test_shuffled_questions_are_shown_in_this_attempts_order(learner_client, all_kinds):
    from uptake.progress.selectors import questions_for_attempt

    enrollment, quiz = all_kinds["enrollment"], all_kinds["quiz"]
    quiz.shuffle_questions = True
    quiz.save()
    expected = questions_for_attempt(enrollment=enrollment, activity=quiz)
    html = learner_client.get(_url("web:activity", enrollment, quiz)).content.decode()
    positions = [html.index(q.prompt) for q in expected]
    assert positions == sorted(positions)
