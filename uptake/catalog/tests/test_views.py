from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.factories import (
    ActivityFactory,
    CourseFactory,
    EnrollmentFactory,
    ModuleFactory,
    PersonFactory,
)
from uptake.catalog import services
from uptake.catalog.models import Activity, Course, Module, Question

from .conftest import actor_of, build_course


def signed_in(person) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(person.user)
    return client


@pytest.fixture
def author_client(author) -> Client:  # type: ignore[no-untyped-def]
    return signed_in(author)


def test_author_creates_a_course_with_a_page_and_a_quiz_and_publishes_it(author_client) -> None:  # type: ignore[no-untyped-def]
    c = author_client
    response = c.post(
        reverse("catalog:course_new"),
        {
            "title": "Sales Starter",
            "summary": "First week",
            "language": "en",
            "tags": "sales, onboarding",
            "estimated_minutes": "20",
            "is_open": "on",
        },
    )
    course = Course.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:course_edit", args=[course.pk])
    assert course.tags == ["sales", "onboarding"]

    c.post(reverse("catalog:module_add", args=[course.pk]), {"title": "Week one"})
    module = Module.objects.get(course=course)

    response = c.post(
        reverse("catalog:activity_add", args=[module.pk]), {"kind": "page", "title": "Welcome"}
    )
    page = Activity.objects.get(kind="page")
    assert response["Location"] == reverse("catalog:activity_edit", args=[page.pk])
    response = c.post(
        reverse("catalog:activity_edit", args=[page.pk]),
        {"title": "Welcome", "body": "Hello **team**", "required": "on", "estimated_minutes": "3"},
    )
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.body_html == "<p>Hello <strong>team</strong></p>"

    c.post(reverse("catalog:activity_add", args=[module.pk]), {"kind": "quiz", "title": "Check"})
    quiz = Activity.objects.get(kind="quiz")
    response = c.post(
        reverse("catalog:activity_edit", args=[quiz.pk]),
        {
            "title": "Check",
            "body": "",
            "required": "on",
            "estimated_minutes": "2",
            "pass_mark": "50",
            "attempts_allowed": "3",
            "shuffle_questions": "on",
        },
    )
    assert response.status_code == 302
    quiz.refresh_from_db()
    assert (quiz.pass_mark, quiz.attempts_allowed, quiz.shuffle_questions) == (50, 3, True)

    refused = c.post(reverse("catalog:course_publish", args=[course.pk]))
    assert refused.status_code == 400
    assert "The knowledge check “Check” has no questions." in refused.content.decode()

    response = c.post(
        reverse("catalog:question_new", args=[quiz.pk]),
        {
            "kind": "single",
            "prompt": "Who is our customer?",
            "points": "1",
            "choice-0-text": "Everyone",
            "choice-0-feedback": "Too broad.",
            "choice-1-text": "Mid-size retailers",
            "choice-1-correct": "on",
            "choice-1-feedback": "Right.",
            "choice-2-text": "",
            "choice-3-text": "",
        },
    )
    assert response.status_code == 302
    question = Question.objects.get()
    assert list(question.choices.values_list("text", "is_correct", "feedback")) == [
        ("Everyone", False, "Too broad."),
        ("Mid-size retailers", True, "Right."),
    ]
    c.post(
        reverse("catalog:question_new", args=[quiz.pk]),
        {
            "kind": "true_false",
            "prompt": "Discounts need approval.",
            "points": "1",
            "correct_answer": "true",
        },
    )

    response = c.post(reverse("catalog:course_publish", args=[course.pk]))
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == Course.Status.PUBLISHED

    page_html = c.get(reverse("catalog:course_edit", args=[course.pk])).content.decode()
    assert "Week one" in page_html
    assert "Welcome" in page_html
    assert "Unpublish" in page_html


def test_publishing_an_empty_course_lists_every_problem(tenant, author, author_client) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author, status=Course.Status.DRAFT)
    ModuleFactory.create(course=course, title="Empty one")
    ModuleFactory.create(course=course, title="Empty two")
    response = author_client.post(reverse("catalog:course_publish", args=[course.pk]))
    html = response.content.decode()
    assert response.status_code == 400
    assert "2 problems to fix" in html
    assert "The module “Empty one” has no activities." in html
    assert "The module “Empty two” has no activities." in html


def test_course_form_re_renders_with_field_errors(author_client) -> None:  # type: ignore[no-untyped-def]
    response = author_client.post(
        reverse("catalog:course_new"), {"title": "", "language": "en", "estimated_minutes": "-3"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html
    assert "Ensure this value is greater than or equal to 0." in html
    assert Course.objects.count() == 0


def test_question_form_shows_the_rule_that_was_broken(tenant, author, author_client) -> None:  # type: ignore[no-untyped-def]
    quiz = ActivityFactory.create(
        module=ModuleFactory.create(course=CourseFactory.create(tenant=tenant, owner=author)),
        kind="quiz",
    )
    response = author_client.post(
        reverse("catalog:question_new", args=[quiz.pk]),
        {
            "kind": "single",
            "prompt": "P",
            "points": "1",
            "choice-0-text": "a",
            "choice-1-text": "b",
        },
    )
    assert response.status_code == 400
    assert (
        "A single-choice question needs exactly one correct choice (it has 0)."
        in response.content.decode()
    )


def test_editing_a_question_shows_its_choices_and_saves_changes(
    tenant, author, author_client
) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author)
    question = Question.objects.get(activity__course=course)
    form = author_client.get(reverse("catalog:question_edit", args=[question.pk])).content.decode()
    assert 'value="Yes: four."' in form
    response = author_client.post(
        reverse("catalog:question_edit", args=[question.pk]),
        {
            "kind": "short",
            "prompt": "2 + 2 in words?",
            "points": "2",
            "accepted_answers": "four\nFour\n",
        },
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert (question.kind, question.accepted_answers, question.choices.count()) == (
        "short",
        ["four"],
        0,
    )


def test_activities_and_modules_move_up_and_down(tenant, author, author_client) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author)
    quiz = Activity.objects.get(course=course, kind="quiz")
    author_client.post(reverse("catalog:activity_move", args=[quiz.pk]), {"direction": "up"})
    assert [a.title for a in Activity.objects.filter(course=course)] == ["Check", "Welcome"]
    extra = services.add_module(actor=actor_of(author), course=course, title="Later")
    author_client.post(reverse("catalog:module_move", args=[extra.pk]), {"direction": "up"})
    assert [m.title for m in Module.objects.filter(course=course)] == ["Later", "Basics"]


def test_refused_delete_comes_back_as_a_message(tenant, author, author_client) -> None:  # type: ignore[no-untyped-def]
    from uptake.core import clock
    from uptake.progress.models import ActivityCompletion

    course = build_course(tenant=tenant, owner=author, status=Course.Status.PUBLISHED)
    page = Activity.objects.get(course=course, kind="page")
    enrollment = EnrollmentFactory.create(
        tenant=tenant, person=PersonFactory.create(tenant=tenant), course=course
    )
    ActivityCompletion.objects.create(
        tenant=tenant, enrollment=enrollment, activity=page, completed_at=clock.now()
    )
    response = author_client.post(reverse("catalog:activity_delete", args=[page.pk]), follow=True)
    assert "Learners have progress on “Welcome”" in response.content.decode()
    assert Activity.objects.filter(pk=page.pk).exists()


def test_markdown_preview_is_sanitised(author_client) -> None:  # type: ignore[no-untyped-def]
    response = author_client.post(
        reverse("catalog:markdown_preview"),
        {"body": "**ok** <img src=x onerror=alert(1)><script>bad()</script>"},
    )
    html = response.content.decode()
    assert "<strong>ok</strong>" in html
    assert "onerror" not in html
    assert "<script" not in html


def test_learners_cannot_open_authoring_screens(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant)
    client = signed_in(learner)
    assert client.get(reverse("catalog:courses")).status_code == 403
    assert client.get(reverse("catalog:course_edit", args=[course.pk])).status_code == 403


def test_a_content_owner_cannot_edit_another_owners_course(tenant, author_client) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=PersonFactory.create(tenant=tenant))
    assert author_client.get(reverse("catalog:course_edit", args=[course.pk])).status_code == 403
    listing = author_client.get(reverse("catalog:courses")).content.decode()
    assert "Owned by someone else" in listing


def test_another_tenants_course_is_not_found(other_tenant, author_client) -> None:  # type: ignore[no-untyped-def]
    theirs = build_course(tenant=other_tenant)
    activity = Activity.objects.get(course=theirs, kind="page")
    assert author_client.get(reverse("catalog:course_edit", args=[theirs.pk])).status_code == 404
    assert (
        author_client.get(reverse("catalog:activity_edit", args=[activity.pk])).status_code == 404
    )
    assert (
        author_client.post(reverse("catalog:course_publish", args=[theirs.pk])).status_code == 404
    )


def test_course_list_shows_status_and_actions(tenant, author, author_client) -> None:  # type: ignore[no-untyped-def]
    build_course(tenant=tenant, owner=author, title="Mine")
    html = author_client.get(reverse("catalog:courses")).content.decode()
    assert "Mine" in html
    assert "Draft" in html
    assert "New course" in html


# --- protected files --------------------------------------------------------------------------


@pytest.fixture
def handout(tenant, author):  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = services.add_module(actor=actor_of(author), course=course, title="M")
    return services.add_activity(
        actor=actor_of(author),
        module=module,
        kind="file",
        title="Handout",
        upload=SimpleUploadedFile("handout.pdf", b"%PDF-1.4 secret"),
    )


def test_files_are_served_to_signed_in_people_of_the_tenant(tenant, handout) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(PersonFactory.create(tenant=tenant))
    response = client.get(reverse("catalog:activity_file", args=[handout.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 secret"  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, max-age=3600"


def test_files_are_not_served_to_anonymous_people(handout) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(reverse("catalog:activity_file", args=[handout.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_files_are_not_served_to_other_tenants(other_tenant, handout) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(PersonFactory.create(tenant=other_tenant))
    assert client.get(reverse("catalog:activity_file", args=[handout.pk])).status_code == 404


def test_draft_files_are_only_for_editors_and_enrolled_people(tenant, handout) -> None:  # type: ignore[no-untyped-def]
    Course.objects.filter(pk=handout.course_id).update(status=Course.Status.DRAFT)
    stranger = PersonFactory.create(tenant=tenant)
    assert (
        signed_in(stranger).get(reverse("catalog:activity_file", args=[handout.pk])).status_code
        == 404
    )
    EnrollmentFactory.create(tenant=tenant, person=stranger, course=handout.course)
    assert (
        signed_in(stranger).get(reverse("catalog:activity_file", args=[handout.pk])).status_code
        == 200
    )


@pytest.mark.parametrize("kind", ["page", "video", "file", "link", "quiz"])
def test_every_kind_of_activity_has_an_edit_screen_with_its_own_fields(
    tenant, author, author_client, kind
) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author)
    activity = ActivityFactory.create(
        module=course.modules.get(),
        kind=kind,
        url="https://cdn.example.com/a.mp4" if kind == "video" else "",
    )
    response = author_client.get(reverse("catalog:activity_edit", args=[activity.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert ('name="url"' in html) is (kind in ("video", "link"))
    assert ('name="file"' in html) is (kind in ("video", "file"))
    assert ('name="pass_mark"' in html) is (kind == "quiz")
    assert 'hx-post="/authoring/preview/"' in html
    if kind == "video":
        assert '<source src="https://cdn.example.com/a.mp4" type="video/mp4">' in html


def test_quiz_screen_lists_questions_with_correct_flags_and_feedback(
    tenant, author, author_client
) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author)
    quiz = Activity.objects.get(course=course, kind="quiz")
    html = author_client.get(reverse("catalog:activity_edit", args=[quiz.pk])).content.decode()
    assert "2 + 2?" in html
    assert "✓ correct" in html
    assert "Yes: four." in html
    for kind in ("single", "multiple", "true_false", "short"):
        page = author_client.get(reverse("catalog:question_new", args=[quiz.pk]), {"kind": kind})
        assert page.status_code == 200
        assert f'<option value="{kind}" selected>' in page.content.decode()


def test_deleting_a_question_from_the_quiz_screen(tenant, author, author_client) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author)
    question = Question.objects.get(activity__course=course)
    response = author_client.post(reverse("catalog:question_delete", args=[question.pk]))
    assert response.status_code == 302
    assert not Question.objects.filter(pk=question.pk).exists()
