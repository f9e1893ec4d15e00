from __future__ import annotations

import pytest

from tests.factories import (
    ActivityFactory,
    ChoiceFactory,
    CourseFactory,
    ModuleFactory,
    QuestionFactory,
)
from uptake.catalog import selectors
from uptake.catalog.models import Activity, Course
from uptake.core.errors import NotFound
from uptake.identity.context import Viewer
from uptake.people.selectors import roles_of

from .conftest import build_course


def viewer(person) -> Viewer:  # type: ignore[no-untyped-def]
    return Viewer(person=person, roles=roles_of(person=person))


def test_published_courses_leave_out_drafts_archives_and_other_tenants(
    tenant, other_tenant
) -> None:  # type: ignore[no-untyped-def]
    live = CourseFactory.create(tenant=tenant, title="Live")
    CourseFactory.create(tenant=tenant, status=Course.Status.DRAFT)
    CourseFactory.create(tenant=tenant, status=Course.Status.ARCHIVED)
    CourseFactory.create(tenant=other_tenant, title="Theirs")
    assert list(selectors.published_courses(tenant_id=tenant.pk)) == [live]


def test_search_matches_title_summary_and_tags(tenant) -> None:  # type: ignore[no-untyped-def]
    a = CourseFactory.create(tenant=tenant, title="Negotiation basics", summary="", tags=[])
    b = CourseFactory.create(tenant=tenant, title="Other", summary="How to NEGOTIATE", tags=[])
    c = CourseFactory.create(tenant=tenant, title="Third", summary="", tags=["negotiation"])
    CourseFactory.create(tenant=tenant, title="Unrelated", summary="", tags=["safety"])
    assert set(selectors.search_catalog(tenant_id=tenant.pk, q="negotiat")) == {a, b, c}


def test_tag_filter_matches_whole_tags_only(tenant) -> None:  # type: ignore[no-untyped-def]
    sales = CourseFactory.create(tenant=tenant, tags=["sales", "onboarding"])
    CourseFactory.create(tenant=tenant, tags=["presales"])
    assert list(selectors.search_catalog(tenant_id=tenant.pk, tag="Sales")) == [sales]


def test_language_filter(tenant) -> None:  # type: ignore[no-untyped-def]
    fr = CourseFactory.create(tenant=tenant, language="fr")
    CourseFactory.create(tenant=tenant, language="en")
    assert list(selectors.search_catalog(tenant_id=tenant.pk, language="fr")) == [fr]


def test_get_course_of_another_tenant_is_not_found(tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    theirs = CourseFactory.create(tenant=other_tenant)
    with pytest.raises(NotFound):
        selectors.get_course(tenant_id=tenant.pk, course_id=theirs.pk)


def test_get_course_published_only_hides_drafts(tenant) -> None:  # type: ignore[no-untyped-def]
    draft = CourseFactory.create(tenant=tenant, status=Course.Status.DRAFT)
    assert selectors.get_course(tenant_id=tenant.pk, course_id=draft.pk) == draft
    with pytest.raises(NotFound):
        selectors.get_course(tenant_id=tenant.pk, course_id=draft.pk, published_only=True)


def test_course_outline_orders_modules_and_activities_in_three_queries(
    tenant, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant)
    second = ModuleFactory.create(course=course, title="Second", position=5)
    first = ModuleFactory.create(course=course, title="First", position=1)
    for module in (first, second):
        for position in (3, 1, 2):
            ActivityFactory.create(
                module=module, title=f"{module.title}-{position}", position=position
            )
    with django_assert_max_num_queries(3):
        outline = selectors.course_outline(tenant_id=tenant.pk, course_id=course.pk)
        titles = [[a.title for a in m.activities.all()] for m in outline.modules.all()]
    assert titles == [
        ["First-1", "First-2", "First-3"],
        ["Second-1", "Second-2", "Second-3"],
    ]


def test_course_outline_with_questions_stays_at_five_queries(
    tenant, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    course = build_course(tenant=tenant)
    for module in range(3):
        m = ModuleFactory.create(course=course)
        quiz = ActivityFactory.create(module=m, kind=Activity.Kind.QUIZ)
        for _ in range(3):
            ChoiceFactory.create(question=QuestionFactory.create(activity=quiz))
    with django_assert_max_num_queries(5):
        outline = selectors.course_outline(
            tenant_id=tenant.pk, course_id=course.pk, include_questions=True
        )
        choices = [
            c.text
            for m in outline.modules.all()
            for a in m.activities.all()
            for q in a.questions.all()
            for c in q.choices.all()
        ]
    assert len(choices) == 2 + 9


def test_required_activity_ids_follow_the_outline_order(tenant) -> None:  # type: ignore[no-untyped-def]
    course = CourseFactory.create(tenant=tenant)
    late = ModuleFactory.create(course=course, position=2)
    early = ModuleFactory.create(course=course, position=1)
    x = ActivityFactory.create(module=late, position=0)
    y = ActivityFactory.create(module=early, position=1)
    z = ActivityFactory.create(module=early, position=0)
    ActivityFactory.create(module=early, position=2, required=False)
    assert selectors.required_activity_ids(course=course) == [z.pk, y.pk, x.pk]


def test_questions_of_prefetches_choices_in_order(tenant, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    quiz = ActivityFactory.create(
        module=ModuleFactory.create(course=CourseFactory.create(tenant=tenant)),
        kind=Activity.Kind.QUIZ,
    )
    q2 = QuestionFactory.create(activity=quiz, position=2)
    q1 = QuestionFactory.create(activity=quiz, position=1)
    ChoiceFactory.create(question=q1, text="b", position=1)
    ChoiceFactory.create(question=q1, text="a", position=0)
    with django_assert_max_num_queries(2):
        questions = selectors.questions_of(activity=quiz)
        texts = [[c.text for c in q.choices.all()] for q in questions]
    assert [q.pk for q in questions] == [q1.pk, q2.pk]
    assert texts == [["a", "b"], []]


def test_get_activity_of_another_tenant_is_not_found(tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    theirs = ActivityFactory.create(
        module=ModuleFactory.create(course=CourseFactory.create(tenant=other_tenant))
    )
    with pytest.raises(NotFound):
        selectors.get_activity(tenant_id=tenant.pk, activity_id=theirs.pk)


def test_authors_see_every_status_with_counts_learners_none(tenant, author, learner) -> None:  # type: ignore[no-untyped-def]
    draft = build_course(tenant=tenant, title="Draft one", status=Course.Status.DRAFT)
    live = CourseFactory.create(tenant=tenant, title="Live one")
    rows = list(selectors.courses_for_authoring(tenant_id=tenant.pk, viewer=viewer(author)))
    assert [(c.title, getattr(c, "module_count"), getattr(c, "activity_count")) for c in rows] == [
        ("Draft one", 1, 2),
        ("Live one", 0, 0),
    ]
    assert list(selectors.courses_for_authoring(tenant_id=tenant.pk, viewer=viewer(learner))) == []
    assert list(selectors.courses_visible_to(viewer=viewer(learner))) == [live]
    assert list(selectors.courses_visible_to(viewer=viewer(author), status="draft")) == [draft]
