from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import (
    ActivityFactory,
    CourseFactory,
    EnrollmentFactory,
    ModuleFactory,
    PersonFactory,
)
from uptake.catalog import services
from uptake.catalog.events import CoursePublished, CourseUpdated
from uptake.catalog.models import Activity, Choice, Course, Module
from uptake.catalog.rules import ChoiceSpec
from uptake.core import clock
from uptake.core.actor import Actor
from uptake.core.errors import Conflict, PermissionDenied, ValidationFailed
from uptake.events import SUBSCRIPTIONS
from uptake.progress.models import ActivityCompletion

from .conftest import actor_of, build_course

SYSTEM = Actor.system("test")


@pytest.fixture
def published_events(monkeypatch):  # type: ignore[no-untyped-def]
    """Record the catalogue's events as handlers would receive them (on commit)."""
    seen: list[object] = []
    for event_type in (CoursePublished, CourseUpdated):
        monkeypatch.setitem(
            SUBSCRIPTIONS, event_type, [*SUBSCRIPTIONS.get(event_type, []), seen.append]
        )
    return seen


# --- courses ----------------------------------------------------------------------------------


def test_content_owner_creates_a_draft_course_they_own(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = services.create_course(
        actor=actor_of(author),
        tenant_id=tenant.pk,
        title="  Sales Starter ",
        tags=["Sales", "sales"],
    )
    assert (course.title, course.slug, course.status, course.owner_id, course.tags) == (
        "Sales Starter",
        "sales-starter",
        Course.Status.DRAFT,
        author.pk,
        ["sales"],
    )


def test_course_slugs_are_unique_within_a_tenant(tenant, other_tenant, author) -> None:  # type: ignore[no-untyped-def]
    CourseFactory.create(tenant=other_tenant, slug="intro")
    first = services.create_course(actor=actor_of(author), tenant_id=tenant.pk, title="Intro")
    second = services.create_course(actor=actor_of(author), tenant_id=tenant.pk, title="Intro")
    assert (first.slug, second.slug) == ("intro", "intro-2")


def test_a_taken_slug_given_explicitly_is_a_field_problem(tenant, author) -> None:  # type: ignore[no-untyped-def]
    CourseFactory.create(tenant=tenant, slug="intro")
    with pytest.raises(ValidationFailed) as err:
        services.create_course(actor=actor_of(author), tenant_id=tenant.pk, title="X", slug="intro")
    assert [(p.field, p.message) for p in err.value.errors] == [
        ("slug", "Another course already uses the slug “intro”.")
    ]


def test_learners_cannot_create_courses(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        services.create_course(actor=actor_of(learner), tenant_id=tenant.pk, title="Mine")
    assert Course.objects.count() == 0


def test_a_person_of_another_tenant_cannot_create_courses_here(tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import grant
    from uptake.people.rules import PLATFORM_ADMIN

    outsider = grant(PersonFactory.create(tenant=other_tenant), PLATFORM_ADMIN)
    with pytest.raises(PermissionDenied):
        services.create_course(actor=actor_of(outsider), tenant_id=tenant.pk, title="Sneaky")


def test_content_owner_cannot_edit_someone_elses_course(tenant, author) -> None:  # type: ignore[no-untyped-def]
    other = PersonFactory.create(tenant=tenant)
    course = CourseFactory.create(tenant=tenant, owner=other, status=Course.Status.DRAFT)
    with pytest.raises(PermissionDenied):
        services.update_course(actor=actor_of(author), course=course, title="Mine now")


def test_platform_admin_edits_any_course_and_hands_it_over(tenant, admin, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=None, status=Course.Status.DRAFT)
    services.update_course(
        actor=actor_of(admin), course=course, title="Renamed", owner_id=author.pk
    )
    course.refresh_from_db()
    assert (course.title, course.owner_id) == ("Renamed", author.pk)


def test_only_an_admin_hands_a_course_to_another_owner(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    other = PersonFactory.create(tenant=tenant)
    with pytest.raises(PermissionDenied):
        services.update_course(actor=actor_of(author), course=course, owner_id=other.pk)


def test_update_course_publishes_what_changed(
    tenant, author, published_events, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author, title="A", summary="s")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_course(actor=actor_of(author), course=course, title="B", summary="s")
    assert published_events == [
        CourseUpdated(
            tenant_id=tenant.pk, course_id=course.pk, changed=("title",), actor_person_id=author.pk
        )
    ]


def test_invalid_course_fields_are_reported_together(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    with pytest.raises(ValidationFailed) as err:
        services.update_course(
            actor=actor_of(author), course=course, title="", language="", tags=["x" * 50]
        )
    assert [p.field for p in err.value.errors] == ["title", "language", "tags"]


# --- publishing -------------------------------------------------------------------------------


def test_publishing_a_complete_course_makes_it_visible(
    tenant, author, published_events, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author)
    with django_capture_on_commit_callbacks(execute=True):
        published = services.publish_course(actor=actor_of(author), course=course)
    assert published.status == Course.Status.PUBLISHED
    assert published.published_at is not None
    assert published_events == [
        CoursePublished(
            tenant_id=tenant.pk,
            course_id=course.pk,
            published_at=published.published_at,
            actor_person_id=author.pk,
        )
    ]


def test_publishing_lists_every_problem_and_changes_nothing(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author, status=Course.Status.DRAFT)
    module = ModuleFactory.create(course=course, title="Intro")
    ModuleFactory.create(course=course, title="Empty")
    ActivityFactory.create(module=module, kind=Activity.Kind.QUIZ, title="Check")
    ActivityFactory.create(module=module, kind=Activity.Kind.LINK, title="Site", url="")
    with pytest.raises(ValidationFailed) as err:
        services.publish_course(actor=actor_of(author), course=course)
    assert err.value.detail == f"“{course.title}” cannot be published yet: 3 problems to fix."
    assert [p.message for p in err.value.errors] == [
        "The knowledge check “Check” has no questions.",
        "The link “Site” needs a web address.",
        "The module “Empty” has no activities.",
    ]
    course.refresh_from_db()
    assert course.status == Course.Status.DRAFT


def test_unpublish_and_archive_keep_the_course(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author, status=Course.Status.PUBLISHED)
    assert (
        services.unpublish_course(actor=actor_of(author), course=course).status
        == Course.Status.DRAFT
    )
    assert (
        services.archive_course(actor=actor_of(author), course=course).status
        == Course.Status.ARCHIVED
    )


# --- modules and activities -------------------------------------------------------------------


def test_modules_are_added_at_the_end_and_reordered(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    a = services.add_module(actor=actor_of(author), course=course, title="A")
    b = services.add_module(actor=actor_of(author), course=course, title="B")
    c = services.add_module(actor=actor_of(author), course=course, title="C")
    services.move_module(actor=actor_of(author), module=c, direction="up")
    assert list(Module.objects.filter(course=course).values_list("title", "position")) == [
        ("A", 0),
        ("C", 1),
        ("B", 2),
    ]
    services.move_module(actor=actor_of(author), module=a, direction="up")  # already first
    assert [m.pk for m in Module.objects.filter(course=course)] == [a.pk, c.pk, b.pk]


def test_activities_are_reordered_within_their_module(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = services.add_module(actor=actor_of(author), course=course, title="M")
    first = services.add_activity(actor=actor_of(author), module=module, kind="page", title="One")
    second = services.add_activity(actor=actor_of(author), module=module, kind="page", title="Two")
    services.move_activity(actor=actor_of(author), activity=second, direction="up")
    assert [a.pk for a in Activity.objects.filter(module=module)] == [second.pk, first.pk]


def test_activity_body_is_rendered_and_sanitised(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = services.add_module(actor=actor_of(author), course=course, title="M")
    activity = services.add_activity(
        actor=actor_of(author),
        module=module,
        kind="page",
        title="Read",
        body="**Hi** <script>x()</script>",
    )
    assert activity.body_html == "<p><strong>Hi</strong> </p>"
    services.update_activity(actor=actor_of(author), activity=activity, body="*Bye*")
    activity.refresh_from_db()
    assert (activity.body, activity.body_html) == ("*Bye*", "<p><em>Bye</em></p>")


def test_link_activities_need_an_http_url(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = services.add_module(actor=actor_of(author), course=course, title="M")
    with pytest.raises(ValidationFailed) as err:
        services.add_activity(
            actor=actor_of(author), module=module, kind="link", title="L", url="javascript:x"
        )
    assert [p.field for p in err.value.errors] == ["url"]
    with pytest.raises(ValidationFailed):
        services.add_activity(
            actor=actor_of(author), module=module, kind="page", title="P", url="https://x.org"
        )


def test_quiz_settings_are_validated(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = services.add_module(actor=actor_of(author), course=course, title="M")
    with pytest.raises(ValidationFailed) as err:
        services.add_activity(
            actor=actor_of(author),
            module=module,
            kind="quiz",
            title="Q",
            pass_mark=101,
            attempts_allowed=-1,
        )
    assert [p.field for p in err.value.errors] == ["pass_mark", "attempts_allowed"]


def test_uploaded_files_get_a_safe_name_and_replace_the_old_one(
    tenant, author, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = services.add_module(actor=actor_of(author), course=course, title="M")
    upload = SimpleUploadedFile(
        "../My Handout (final).PDF", b"%PDF-1.4 hello", content_type="application/pdf"
    )
    activity = services.add_activity(
        actor=actor_of(author), module=module, kind="file", title="F", upload=upload
    )
    assert str(activity.file.name).startswith("activities/")
    assert str(activity.file.name).endswith("/My-Handout-final.pdf")
    old_path = activity.file.path
    with django_capture_on_commit_callbacks(execute=True):
        services.update_activity(
            actor=actor_of(author),
            activity=activity,
            upload=SimpleUploadedFile("v2.pdf", b"%PDF-1.4 two"),
        )
    activity.refresh_from_db()
    assert str(activity.file.name).endswith("/v2.pdf")
    assert activity.file.read() == b"%PDF-1.4 two"
    import os

    assert not os.path.exists(old_path)


def test_uploads_of_the_wrong_type_or_too_large_are_refused(tenant, author, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPTAKE_MAX_UPLOAD_BYTES = 10
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = services.add_module(actor=actor_of(author), course=course, title="M")
    with pytest.raises(ValidationFailed) as err:
        services.add_activity(
            actor=actor_of(author),
            module=module,
            kind="video",
            title="V",
            upload=SimpleUploadedFile("clip.exe", b"x" * 11),
        )
    assert [p.message for p in err.value.errors] == [
        "A video activity accepts these file types: mp4, ogg, webm (not “exe”).",
        "The file is 11 bytes; the limit is 10 bytes.",
    ]
    assert Activity.objects.count() == 0


def test_an_activity_with_learner_progress_cannot_be_deleted(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant, owner=author, status=Course.Status.PUBLISHED)
    page = Activity.objects.get(course=course, kind="page")
    enrollment = EnrollmentFactory.create(
        tenant=tenant, person=PersonFactory.create(tenant=tenant), course=course
    )
    ActivityCompletion.objects.create(
        tenant=tenant, enrollment=enrollment, activity=page, completed_at=clock.now()
    )
    with pytest.raises(Conflict) as err:
        services.delete_activity(actor=actor_of(author), activity=page)
    assert "Learners have progress on “Welcome”" in err.value.detail
    with pytest.raises(Conflict):
        services.delete_module(actor=actor_of(author), module=page.module)
    assert Activity.objects.filter(pk=page.pk).exists()


def test_deleting_an_activity_closes_the_gap_in_positions(tenant, author) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author)
    module = services.add_module(actor=actor_of(author), course=course, title="M")
    _a, b, _c = (
        services.add_activity(actor=actor_of(author), module=module, kind="page", title=t)
        for t in "ABC"
    )
    services.delete_activity(actor=actor_of(author), activity=b)
    assert list(Activity.objects.filter(module=module).values_list("title", "position")) == [
        ("A", 0),
        ("C", 1),
    ]


# --- questions --------------------------------------------------------------------------------


@pytest.fixture
def quiz(tenant, author):  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant, owner=author, status=Course.Status.DRAFT)
    module = ModuleFactory.create(course=course)
    return ActivityFactory.create(module=module, kind=Activity.Kind.QUIZ, title="Check")


def test_true_false_questions_get_their_two_choices(quiz, author) -> None:  # type: ignore[no-untyped-def]
    question = services.add_question(
        actor=actor_of(author),
        activity=quiz,
        kind="true_false",
        prompt="The sky is blue.",
        correct_answer=True,
    )
    assert list(question.choices.values_list("text", "is_correct", "position")) == [
        ("True", True, 0),
        ("False", False, 1),
    ]


def test_true_false_without_an_answer_is_refused(quiz, author) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as err:
        services.add_question(actor=actor_of(author), activity=quiz, kind="true_false", prompt="P")
    assert [p.field for p in err.value.errors] == ["correct_answer"]


def test_single_choice_with_two_correct_choices_is_refused_and_nothing_saved(quiz, author) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as err:
        services.add_question(
            actor=actor_of(author),
            activity=quiz,
            kind="single",
            prompt="P",
            choices=[ChoiceSpec("a", True), ChoiceSpec("b", True)],
        )
    assert [p.message for p in err.value.errors] == [
        "A single-choice question needs exactly one correct choice (it has 2)."
    ]
    assert Choice.objects.count() == 0


def test_blank_choice_rows_are_ignored(quiz, author) -> None:  # type: ignore[no-untyped-def]
    question = services.add_question(
        actor=actor_of(author),
        activity=quiz,
        kind="multiple",
        prompt="Pick the primes",
        choices=[
            ChoiceSpec("2", True, "Yes"),
            ChoiceSpec("4"),
            ChoiceSpec("3", True),
            ChoiceSpec(" "),
        ],
    )
    assert list(question.choices.values_list("text", "is_correct", "feedback")) == [
        ("2", True, "Yes"),
        ("4", False, ""),
        ("3", True, ""),
    ]


def test_short_answers_keep_cleaned_accepted_answers(quiz, author) -> None:  # type: ignore[no-untyped-def]
    question = services.add_question(
        actor=actor_of(author),
        activity=quiz,
        kind="short",
        prompt="Capital of France?",
        accepted_answers=["Paris ", "paris", ""],
    )
    assert question.accepted_answers == ["Paris"]
    assert question.choices.count() == 0


def test_updating_a_question_replaces_its_choices_keeping_ids_in_place(quiz, author) -> None:  # type: ignore[no-untyped-def]
    question = services.add_question(
        actor=actor_of(author),
        activity=quiz,
        kind="single",
        prompt="P",
        choices=[ChoiceSpec("a", True), ChoiceSpec("b"), ChoiceSpec("c")],
    )
    first_id = question.choices.first().pk  # type: ignore[union-attr]
    services.update_question(
        actor=actor_of(author),
        question=question,
        kind="single",
        prompt="P2",
        choices=[ChoiceSpec("A", False), ChoiceSpec("B", True)],
    )
    assert list(question.choices.values_list("pk", "text", "is_correct")) == [
        (first_id, "A", False),
        (first_id + 1, "B", True),
    ]


def test_an_invalid_update_leaves_the_question_as_it_was(quiz, author) -> None:  # type: ignore[no-untyped-def]
    question = services.add_question(
        actor=actor_of(author),
        activity=quiz,
        kind="single",
        prompt="P",
        choices=[ChoiceSpec("a", True), ChoiceSpec("b")],
    )
    with pytest.raises(ValidationFailed):
        services.update_question(
            actor=actor_of(author), question=question, kind="short", prompt="P"
        )
    question.refresh_from_db()
    assert question.kind == "single"
    assert question.choices.count() == 2


def test_questions_only_go_on_knowledge_checks(tenant, author) -> None:  # type: ignore[no-untyped-def]
    page = ActivityFactory.create(
        module=ModuleFactory.create(course=CourseFactory.create(tenant=tenant, owner=author))
    )
    with pytest.raises(ValidationFailed):
        services.add_question(
            actor=actor_of(author), activity=page, kind="short", prompt="P", accepted_answers=["x"]
        )


def test_the_system_may_write_without_roles(tenant) -> None:  # type: ignore[no-untyped-def]
    course = services.create_course(actor=SYSTEM, tenant_id=tenant.pk, title="Seeded")
    assert course.owner_id is None
    services.add_module(actor=SYSTEM, course=course, title="M")
