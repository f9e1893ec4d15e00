"""Learning paths: editing, prerequisites without cycles, publishing, people on a path,
locked steps and what unlocks them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import CourseFactory, PersonFactory
from uptake.assignments.tests import builders
from uptake.assignments.tests.builders import SYSTEM
from uptake.core.errors import ValidationFailed
from uptake.enrollment.models import Enrollment
from uptake.paths import selectors, services
from uptake.paths.events import PathStepUnlocked
from uptake.progress import services as progress_services

pytestmark = pytest.mark.django_db


def _starter(tenant: Any, order_mode: str = "sequential") -> Any:
    courses = [
        builders.course_with_page(tenant, title, estimated_minutes=minutes)
        for title, minutes in (("Product basics", 10), ("Pricing", 15), ("Demo skills", 20))
    ]
    return builders.path_of(tenant, "Sales Starter", *courses, order_mode=order_mode), courses


def test_a_path_sums_its_courses_minutes_and_keeps_steps_in_order(tenant):
    path, courses = _starter(tenant)
    path.refresh_from_db()
    assert path.estimated_minutes == 45
    assert path.slug == "sales-starter"
    last = path.steps.get(course=courses[2])
    services.move_step(actor=SYSTEM, step=last, position=0)
    assert [s.course.title for s in path.steps.order_by("position")] == [
        "Demo skills",
        "Product basics",
        "Pricing",
    ]
    services.remove_step(actor=SYSTEM, step=path.steps.get(course=courses[0]))
    assert list(path.steps.order_by("position").values_list("position", flat=True)) == [0, 1]


def test_a_course_is_a_step_only_once(tenant):
    path, courses = _starter(tenant)
    with pytest.raises(ValidationFailed) as exc:
        services.add_step(actor=SYSTEM, path=path, course=courses[0])
    assert exc.value.detail == "“Product basics” is already a step of this path."


def test_prerequisites_that_make_a_cycle_are_refused_and_named(tenant):
    path, _ = _starter(tenant, order_mode="free")
    a, b, c = list(path.steps.order_by("position"))
    services.set_prerequisites(actor=SYSTEM, step=b, prerequisite_ids=[a.pk])
    services.set_prerequisites(actor=SYSTEM, step=c, prerequisite_ids=[b.pk])
    with pytest.raises(ValidationFailed) as exc:
        services.set_prerequisites(actor=SYSTEM, step=a, prerequisite_ids=[c.pk])
    assert exc.value.detail == (
        "These prerequisites would make a cycle: "
        "Product basics → Demo skills → Pricing → Product basics."
    )
    assert list(a.prerequisites.all()) == []


def test_prerequisites_must_be_steps_of_the_same_path(tenant):
    path, _ = _starter(tenant)
    other, _ = builders.path_of(tenant, "Other", CourseFactory(tenant=tenant)), None
    step = path.steps.first()
    with pytest.raises(ValidationFailed) as exc:
        services.set_prerequisites(actor=SYSTEM, step=step, prerequisite_ids=[other.steps.get().pk])
    assert exc.value.detail == "Prerequisites must be steps of the same path."
    with pytest.raises(ValidationFailed):
        services.set_prerequisites(actor=SYSTEM, step=step, prerequisite_ids=[step.pk])


def test_publishing_needs_steps_and_published_courses(tenant):
    empty = services.create_path(actor=SYSTEM, tenant_id=tenant.pk, title="Empty")
    with pytest.raises(ValidationFailed) as no_steps:
        services.publish_path(actor=SYSTEM, path=empty)
    assert no_steps.value.detail == "Add at least one step before publishing “Empty”."
    services.add_step(
        actor=SYSTEM, path=empty, course=CourseFactory(tenant=tenant, title="Wip", status="draft")
    )
    with pytest.raises(ValidationFailed) as drafts:
        services.publish_path(actor=SYSTEM, path=empty)
    assert drafts.value.detail == "Publish these courses first: “Wip”."


def test_a_person_on_a_sequential_path_sees_locked_steps_and_what_unlocks_them(tenant):
    path, courses = _starter(tenant)
    person = PersonFactory(tenant=tenant)
    services.enroll_people_in_path(
        actor=SYSTEM, tenant_id=tenant.pk, path=path, due_by_person={person.pk: None}
    )
    assert Enrollment.objects.filter(person=person).count() == 3
    view = selectors.path_for_person(person=person, path=path)
    assert [(v.step.course.title, v.state) for v in view.steps] == [
        ("Product basics", "unlocked"),
        ("Pricing", "locked"),
        ("Demo skills", "locked"),
    ]
    assert view.next_hint == "Complete “Product basics” to unlock"
    assert view.progress_percent == 0
    locked = Enrollment.objects.get(person=person, course=courses[1])
    assert selectors.locked_reason(enrollment=locked) == (
        "Complete “Product basics” to unlock (learning path “Sales Starter”)."
    )
    assert (
        selectors.locked_reason(enrollment=Enrollment.objects.get(person=person, course=courses[0]))
        is None
    )


def test_completing_a_step_unlocks_the_next_and_announces_it(
    tenant, django_capture_on_commit_callbacks, monkeypatch
):
    path, courses = _starter(tenant)
    person = PersonFactory(tenant=tenant)
    services.enroll_people_in_path(
        actor=SYSTEM, tenant_id=tenant.pk, path=path, due_by_person={person.pk: None}
    )
    published: list[object] = []
    from uptake.core import bus

    real = bus.dispatch

    def recording(event: object) -> None:
        published.append(event)
        real(event)

    monkeypatch.setattr(bus, "dispatch", recording)
    first = Enrollment.objects.get(person=person, course=courses[0])
    with django_capture_on_commit_callbacks(execute=True):
        progress_services.complete_activity(
            actor=SYSTEM, enrollment=first, activity=courses[0].page
        )
    unlocked = [e for e in published if isinstance(e, PathStepUnlocked)]
    second = path.steps.get(course=courses[1])
    assert unlocked == [
        PathStepUnlocked(
            tenant_id=tenant.pk,
            path_id=path.pk,
            step_id=second.pk,
            person_id=person.pk,
            course_id=courses[1].pk,
            enrollment_id=Enrollment.objects.get(person=person, course=courses[1]).pk,
        )
    ]
    view = selectors.path_for_person(person=person, path=path)
    assert [v.state for v in view.steps] == ["completed", "unlocked", "locked"]
    assert view.progress_percent == 33
    assert [p.path.pk for p in selectors.my_paths(person=person)] == [path.pk]


def test_a_step_with_a_condition_applies_only_to_matching_people(tenant):
    path, _ = _starter(tenant, order_mode="free")
    paris = builders.course_with_page(tenant, "Paris office")
    services.add_step(
        actor=SYSTEM,
        path=path,
        course=paris,
        condition=services.parse_condition('location = "Paris"'),
    )
    parisian = PersonFactory(tenant=tenant, location="Paris")
    londoner = PersonFactory(tenant=tenant, location="London")
    services.enroll_people_in_path(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        path=path,
        due_by_person={parisian.pk: None, londoner.pk: None},
    )
    assert Enrollment.objects.filter(person=parisian).count() == 4
    assert Enrollment.objects.filter(person=londoner).count() == 3
    titles = [
        v.step.course.title for v in selectors.path_for_person(person=londoner, path=path).steps
    ]
    assert "Paris office" not in titles


def test_a_bad_condition_is_refused_with_the_exact_place(tenant):
    with pytest.raises(ValidationFailed) as exc:
        services.parse_condition('location = "Paris" and (')
    assert "line 1" in exc.value.detail
