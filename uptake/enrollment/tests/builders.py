"""Test builders shared by the enrolment, progress and analytics tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.factories import (
    ActivityFactory,
    ChoiceFactory,
    CourseFactory,
    ModuleFactory,
    PersonFactory,
    QuestionFactory,
    grant,
)
from uptake.catalog.models import Activity
from uptake.core.actor import Actor
from uptake.people import rules as people_rules
from uptake.people.models import Person

SYSTEM = Actor.system("test")


@dataclass
class CourseKit:
    # Any: factory-boy returns its factory type to mypy, the model at run time.
    course: Any
    pages: list[Any]
    quiz: Any = None
    questions: list[Any] = field(default_factory=list)
    optional: Any = None

    @property
    def right_answers(self) -> dict[str, Any]:
        return {str(q.pk): [c.pk for c in q.choices.all() if c.is_correct] for q in self.questions}

    @property
    def wrong_answers(self) -> dict[str, Any]:
        return {
            str(q.pk): [next(c.pk for c in q.choices.all() if not c.is_correct)]
            for q in self.questions
        }


def make_course(
    tenant: Any,
    *,
    title: str = "Sales Starter",
    pages: int = 2,
    quiz: bool = True,
    quiz_required: bool = True,
    optional_page: bool = False,
    attempts_allowed: int = 0,
    pass_mark: int = 80,
    shuffle: bool = False,
    questions: int = 2,
    **course_attrs: Any,
) -> CourseKit:
    """A course of one module: `pages` required pages, then (optionally) a knowledge check of
    `questions` single-choice questions (first choice correct)."""
    course = CourseFactory(tenant=tenant, title=title, **course_attrs)
    module = ModuleFactory(course=course, tenant=tenant, position=1)
    kit = CourseKit(
        course=course,
        pages=[
            ActivityFactory(
                module=module, course=course, tenant=tenant, position=n, title=f"Page {n}"
            )
            for n in range(1, pages + 1)
        ],
    )
    if optional_page:
        kit.optional = ActivityFactory(
            module=module, course=course, tenant=tenant, position=50, required=False
        )
    if quiz:
        kit.quiz = ActivityFactory(
            module=module,
            course=course,
            tenant=tenant,
            kind=Activity.Kind.QUIZ,
            title="Knowledge check",
            position=100,
            required=quiz_required,
            attempts_allowed=attempts_allowed,
            pass_mark=pass_mark,
            shuffle_questions=shuffle,
        )
        for n in range(1, questions + 1):
            q = QuestionFactory(
                activity=kit.quiz,
                tenant=tenant,
                position=n,
                prompt=f"Q{n}?",
                correct_feedback="Right.",
                incorrect_feedback="Wrong.",
            )
            ChoiceFactory(question=q, tenant=tenant, is_correct=True, text="Yes", position=1)
            ChoiceFactory(
                question=q, tenant=tenant, is_correct=False, text="No", position=2, feedback="Nope"
            )
            kit.questions.append(q)
    return kit


def person(tenant: Any, **attrs: Any) -> Person:
    attrs.setdefault("time_zone", "UTC")
    p: Any = PersonFactory(tenant=tenant, **attrs)
    return p  # type: ignore[no-any-return]


def admin(tenant: Any, **attrs: Any) -> Person:
    return grant(
        person(tenant, first_name="Ada", last_name="Admin", **attrs), people_rules.PLATFORM_ADMIN
    )


def actor_of(p: Person) -> Actor:
    return Actor.person(p.pk, label=p.full_name)
