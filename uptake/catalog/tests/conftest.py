"""Fixtures for the catalogue's tests: people with roles in a tenant, and a course builder."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import (
    ActivityFactory,
    ChoiceFactory,
    CourseFactory,
    ModuleFactory,
    PersonFactory,
    QuestionFactory,
    grant,
)
from uptake.catalog.models import Activity, Course, Question
from uptake.core.actor import Actor
from uptake.people.rules import CONTENT_OWNER, PLATFORM_ADMIN


@pytest.fixture
def author(tenant):  # type: ignore[no-untyped-def]
    return grant(
        PersonFactory.create(tenant=tenant, first_name="Ada", last_name="Author"), CONTENT_OWNER
    )


@pytest.fixture
def admin(tenant):  # type: ignore[no-untyped-def]
    return grant(
        PersonFactory.create(tenant=tenant, first_name="Ann", last_name="Admin"), PLATFORM_ADMIN
    )


@pytest.fixture
def learner(tenant):  # type: ignore[no-untyped-def]
    return PersonFactory.create(tenant=tenant, first_name="Leo", last_name="Learner")


def actor_of(person: Any) -> Actor:
    return Actor.person(person.pk, label=person.full_name)


def build_course(
    *, tenant: Any, owner: Any = None, status: str = Course.Status.DRAFT, **kw: Any
) -> Course:
    """A complete, publishable course: one module with a page and a one-question quiz."""
    course = CourseFactory.create(tenant=tenant, owner=owner, status=status, **kw)
    module = ModuleFactory.create(course=course, title="Basics", position=0)
    ActivityFactory.create(module=module, title="Welcome", kind=Activity.Kind.PAGE, position=0)
    quiz = ActivityFactory.create(
        module=module, title="Check", kind=Activity.Kind.QUIZ, position=1, body="", body_html=""
    )
    question = QuestionFactory.create(
        activity=quiz, kind=Question.Kind.SINGLE, prompt="2 + 2?", accepted_answers=[]
    )
    ChoiceFactory.create(
        question=question, text="4", is_correct=True, feedback="Yes: four.", position=0
    )
    ChoiceFactory.create(
        question=question, text="5", is_correct=False, feedback="No: count again.", position=1
    )
    return course
