"""Test data for the web screens, built with the factories and the apps' services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tests.factories import (
    ActivityFactory,
    ChoiceFactory,
    CourseFactory,
    ModuleFactory,
    PersonFactory,
    QuestionFactory,
)
from uptake.catalog.models import Activity, Choice, Course, Question
from uptake.core.actor import Actor
from uptake.enrollment.services import enroll_person


# Any: factory-boy returns its factory type to mypy, the model at run time.
def make_person(tenant: Any, **attrs: Any) -> Any:
    return PersonFactory(tenant=tenant, **attrs)


def make_course(tenant: Any, **attrs: Any) -> Any:
    return CourseFactory(tenant=tenant, **attrs)


@dataclass
class StarterCourse:
    course: Course
    page: Activity
    quiz: Activity
    question: Question
    right: Choice
    wrong: Choice


def starter_course(
    tenant: Any, *, title: str = "Sales Starter", attempts_allowed: int = 2, **course_attrs: Any
) -> StarterCourse:
    """A published course: one module with a page, then a one-question knowledge check."""
    course: Any = CourseFactory(tenant=tenant, title=title, **course_attrs)
    module = ModuleFactory(course=course, title="Basics", position=0)
    page: Any = ActivityFactory(
        module=module,
        title="Welcome to sales",
        kind=Activity.Kind.PAGE,
        position=0,
        body="Our **customers** come first.",
        body_html="<p>Our <strong>customers</strong> come first.</p>",
    )
    quiz: Any = ActivityFactory(
        module=module,
        title="Check your knowledge",
        kind=Activity.Kind.QUIZ,
        position=1,
        body="",
        body_html="",
        pass_mark=100,
        attempts_allowed=attempts_allowed,
    )
    question: Any = QuestionFactory(
        activity=quiz, kind=Question.Kind.SINGLE, prompt="What comes first?", position=0
    )
    right: Any = ChoiceFactory(
        question=question,
        text="Customers",
        is_correct=True,
        feedback="Yes: customers first.",
        position=0,
    )
    wrong: Any = ChoiceFactory(
        question=question,
        text="Paperwork",
        is_correct=False,
        feedback="No: paperwork can wait.",
        position=1,
    )
    return StarterCourse(course, page, quiz, question, right, wrong)


def enrol(person: Any, course: Course, *, due_at: dt.datetime | None = None) -> Any:
    """Assign `course` to `person` as a rule would (so the due date may already be past)."""
    return enroll_person(
        actor=Actor.system("test"),
        tenant_id=person.tenant_id,
        person=person,
        course=course,
        due_at=due_at,
        source="rule",
    )
