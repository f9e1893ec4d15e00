"""Assignments: applying to members, joins and leaves, rehires, manager notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from tests.factories import CourseFactory, PersonFactory
from uptake.assignments import selectors, services
from uptake.assignments.models import Assignment, AssignmentEnrollment
from uptake.assignments.tests import builders
from uptake.assignments.tests.builders import SYSTEM
from uptake.audiences.events import AudienceMembershipChanged
from uptake.core import bus
from uptake.core.errors import ValidationFailed
from uptake.core.models import OutboxMessage
from uptake.enrollment import services as enrollment_services
from uptake.enrollment.models import Enrollment
from uptake.notifications.models import Notification
from uptake.progress import services as progress_services

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _assign(tenant: Any, audience: Any, **kw: Any) -> Assignment:
    kw.setdefault("course", CourseFactory(tenant=tenant, title="Pipeline basics"))
    assignment, _ = services.create_assignment(
        actor=SYSTEM, tenant_id=tenant.pk, audience=audience, **kw
    )
    return assignment


def _statuses(person: Any) -> dict[str, str]:
    return {
        e.course.title: e.status
        for e in Enrollment.objects.filter(person=person).select_related("course")
    }


def test_assignment_enrols_every_current_member_with_their_hire_based_due_date(tenant):
    hired = PersonFactory(tenant=tenant, hire_date=dt.date(2026, 11, 16), time_zone="Europe/Paris")
    no_hire = PersonFactory(tenant=tenant, hire_date=None, time_zone="UTC")
    audience = builders.audience(tenant, "Sales", hired, no_hire)
    assignment = _assign(tenant, audience, due_kind="days_after_hire", due_days=14)
    rows = {e.person_id: e for e in Enrollment.objects.filter(tenant=tenant)}
    assert rows[hired.pk].due_at.isoformat() == "2026-11-30T22:59:59+00:00"
    assert rows[hired.pk].source == "rule"
    assert rows[no_hire.pk].due_at == dt.datetime(2026, 12, 7, 23, 59, 59, tzinfo=dt.UTC)
    explained = selectors.assignments_for_person(tenant_id=tenant.pk, person=no_hire)
    assert [(p.assignment.pk, p.due_explained) for p in explained] == [
        (assignment.pk, "due 14 days after being assigned, because no hire date is recorded")
    ]
    assert explained[0].audience == audience and explained[0].is_member


def test_rejoining_does_not_duplicate_enrolments(tenant):
    person = PersonFactory(tenant=tenant)
    audience = builders.audience(tenant, "Sales", person)
    assignment = _assign(tenant, audience)
    again = services.apply_membership_change(
        tenant_id=tenant.pk, audience_id=audience.pk, joined=[person.pk], left=[]
    )
    assert again.enrolled == 0
    assert Enrollment.objects.filter(person=person).count() == 1
    assert AssignmentEnrollment.objects.filter(assignment=assignment).count() == 1


def test_leaving_withdraws_only_unstarted_enrolments_when_the_assignment_says_so(tenant):
    idle, busy = PersonFactory(tenant=tenant), PersonFactory(tenant=tenant)
    audience = builders.audience(tenant, "Sales", idle, busy)
    course = builders.course_with_page(tenant, "Pipeline basics")
    _assign(tenant, audience, course=course, on_leave="withdraw_if_not_started")
    started = Enrollment.objects.get(person=busy)
    progress_services.open_activity(actor=SYSTEM, enrollment=started, activity=course.page)
    left = builders.leave(audience, idle, busy)
    result = services.apply_membership_change(
        tenant_id=tenant.pk, audience_id=audience.pk, joined=[], left=left
    )
    assert result.withdrawn == 1
    assert _statuses(idle) == {"Pipeline basics": "withdrawn"}
    assert _statuses(busy) == {"Pipeline basics": "in_progress"}


def test_leaving_keeps_the_enrolment_when_the_assignment_keeps_it(tenant):
    person = PersonFactory(tenant=tenant)
    audience = builders.audience(tenant, "Sales", person)
    _assign(tenant, audience, on_leave="keep")
    services.apply_membership_change(
        tenant_id=tenant.pk,
        audience_id=audience.pk,
        joined=[],
        left=builders.leave(audience, person),
    )
    assert _statuses(person) == {"Pipeline basics": "assigned"}


def test_leaving_keeps_a_course_another_active_assignment_still_gives(tenant):
    person = PersonFactory(tenant=tenant)
    course = CourseFactory(tenant=tenant, title="Security")
    sales = builders.audience(tenant, "Sales", person)
    everyone = builders.audience(tenant, "Everyone", person)
    _assign(tenant, sales, course=course, on_leave="withdraw_if_not_started")
    _assign(tenant, everyone, course=course, on_leave="withdraw_if_not_started")
    services.apply_membership_change(
        tenant_id=tenant.pk, audience_id=sales.pk, joined=[], left=builders.leave(sales, person)
    )
    assert _statuses(person) == {"Security": "assigned"}


def test_a_manual_enrolment_is_never_withdrawn_by_a_rule(tenant):
    person = PersonFactory(tenant=tenant)
    course = CourseFactory(tenant=tenant, title="Security")
    enrollment_services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=person, course=course
    )
    audience = builders.audience(tenant, "Sales", person)
    _assign(tenant, audience, course=course, on_leave="withdraw_if_not_started")
    services.apply_membership_change(
        tenant_id=tenant.pk,
        audience_id=audience.pk,
        joined=[],
        left=builders.leave(audience, person),
    )
    assert _statuses(person) == {"Security": "assigned"}


def test_a_rehire_gets_the_withdrawn_enrolment_back(tenant):
    person = PersonFactory(tenant=tenant)
    audience = builders.audience(tenant, "Sales", person)
    _assign(tenant, audience, on_leave="withdraw_if_not_started")
    services.apply_membership_change(
        tenant_id=tenant.pk,
        audience_id=audience.pk,
        joined=[],
        left=builders.leave(audience, person),
    )
    assert _statuses(person) == {"Pipeline basics": "withdrawn"}
    result = services.apply_membership_change(
        tenant_id=tenant.pk,
        audience_id=audience.pk,
        joined=builders.join(audience, person),
        left=[],
    )
    assert result.enrolled == 1
    assert _statuses(person) == {"Pipeline basics": "assigned"}
    assert Enrollment.objects.filter(person=person).count() == 1


def test_inactive_people_are_skipped_not_failed(tenant):
    active, gone = PersonFactory(tenant=tenant), PersonFactory(tenant=tenant, is_active=False)
    audience = builders.audience(tenant, "Sales", active, gone)
    _assign(tenant, audience)
    assert set(Enrollment.objects.values_list("person_id", flat=True)) == {active.pk}


def test_an_assignment_needs_exactly_one_published_target(tenant):
    audience = builders.audience(tenant, "Sales")
    with pytest.raises(ValidationFailed) as neither:
        services.create_assignment(actor=SYSTEM, tenant_id=tenant.pk, audience=audience)
    assert [p.field for p in neither.value.errors] == ["target"]
    draft = CourseFactory(tenant=tenant, title="Draft", status="draft")
    with pytest.raises(ValidationFailed) as unpublished:
        services.create_assignment(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            audience=audience,
            course=draft,
            due_kind="days_after_hire",
        )
    assert [p.message for p in unpublished.value.errors] == [
        "“Draft” is not published.",
        "Say how many days.",
    ]


def test_a_deactivated_assignment_enrols_nobody_new(tenant):
    audience = builders.audience(tenant, "Sales")
    assignment = _assign(tenant, audience)
    services.deactivate_assignment(actor=SYSTEM, assignment=assignment)
    newcomer = PersonFactory(tenant=tenant)
    services.apply_membership_change(
        tenant_id=tenant.pk,
        audience_id=audience.pk,
        joined=builders.join(audience, newcomer),
        left=[],
    )
    assert not Enrollment.objects.filter(person=newcomer).exists()


def test_the_membership_event_applies_the_assignment(tenant, django_capture_on_commit_callbacks):
    audience = builders.audience(tenant, "Sales")
    _assign(tenant, audience)
    newcomer = PersonFactory(tenant=tenant)
    bus.dispatch(
        AudienceMembershipChanged(
            tenant_id=tenant.pk,
            audience_id=audience.pk,
            rule_version=1,
            joined=tuple(builders.join(audience, newcomer)),
            left=(),
            reason="hr_change",
        )
    )
    assert _statuses(newcomer) == {"Pipeline basics": "assigned"}


def test_manager_is_told_once_per_batch_with_an_email(
    tenant, smtp_mail, django_capture_on_commit_callbacks
):
    manager = PersonFactory(
        tenant=tenant, first_name="Maria", last_name="Manager", email="maria@acme.test"
    )
    ann = PersonFactory(
        tenant=tenant,
        first_name="Ann",
        last_name="Able",
        manager=manager,
        hire_date=dt.date(2026, 11, 16),
    )
    bob = PersonFactory(
        tenant=tenant,
        first_name="Bob",
        last_name="Baker",
        manager=manager,
        hire_date=dt.date(2026, 11, 20),
    )
    audience = builders.audience(tenant, "Sales")
    _assign(tenant, audience, due_kind="days_after_hire", due_days=14)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.apply_membership_change(
            tenant_id=tenant.pk,
            audience_id=audience.pk,
            joined=builders.join(audience, ann, bob),
            left=[],
        )
    assert (result.enrolled, result.managers_notified) == (2, 1)
    note = Notification.objects.get(person=manager)
    assert note.title == "2 of your reports were assigned “Pipeline basics”"
    assert note.body == (
        "These people who report to you now have new learning:\n"
        "- Ann Able: Pipeline basics (due Nov. 30, 2026)\n"
        "- Bob Baker: Pipeline basics (due Dec. 4, 2026)"
    )
    assert OutboxMessage.objects.get().status == "sent"
    assert len(smtp_mail.messages) == 1
    mail = smtp_mail.messages[0]
    assert mail.rcpt_tos == ["maria@acme.test"]
    assert mail.subject.strip() == "2 of your reports were assigned “Pipeline basics”"
    assert "- Ann Able: Pipeline basics (due Nov. 30, 2026)" in mail.text()
    # the same batch again (a retried event) tells nobody twice
    with django_capture_on_commit_callbacks(execute=True):
        services.apply_membership_change(
            tenant_id=tenant.pk, audience_id=audience.pk, joined=[ann.pk, bob.pk], left=[]
        )
    assert Notification.objects.filter(person=manager).count() == 1
    assert len(smtp_mail.messages) == 1


def test_a_recompute_in_several_ranges_tells_each_manager_once(
    tenant, smtp_mail, django_capture_on_commit_callbacks, monkeypatch
):
    from uptake.audiences import services as audience_services

    manager = PersonFactory(tenant=tenant, first_name="Maria", email="maria@acme.test")
    ann = PersonFactory(tenant=tenant, first_name="Ann", last_name="Able", manager=manager)
    bob = PersonFactory(tenant=tenant, first_name="Bob", last_name="Baker", manager=manager)
    audience = builders.audience(tenant, "Everyone")
    _assign(tenant, audience)
    # One person per range: Ann and Bob are enrolled by different transactions.
    monkeypatch.setattr(audience_services, "RECOMPUTE_PEOPLE", 1)
    with django_capture_on_commit_callbacks(execute=True):
        audience_services.recompute_audiences(tenant_id=tenant.pk)
    assert _statuses(ann) == _statuses(bob) == {"Pipeline basics": "assigned"}
    note = Notification.objects.get(person=manager)
    assert note.title == "2 of your reports were assigned “Pipeline basics”"
    assert "Ann Able" in note.body and "Bob Baker" in note.body
    assert [m.rcpt_tos for m in smtp_mail.messages] == [["maria@acme.test"]]


def test_a_large_recompute_leaves_its_rollups_to_the_worker(
    tenant, django_capture_on_commit_callbacks, monkeypatch
):
    """ADR 0035: the recompute commits its enrolments and events with their rollups queued;
    the worker, called once for every range, counts them as a recomputation would."""
    from uptake.analytics import services as analytics
    from uptake.analytics.models import CourseFact, PendingRollup
    from uptake.analytics.tests import reference
    from uptake.audiences import services as audience_services

    audience = builders.audience(tenant, "Everyone")
    assignment = _assign(tenant, audience)
    people = PersonFactory.create_batch(3, tenant=tenant)  # not members yet (no handlers ran)
    monkeypatch.setattr(audience_services, "RECOMPUTE_PEOPLE", 2)  # two ranges
    monkeypatch.setattr(analytics, "ROLLUPS_LATER_FROM", 1)
    with django_capture_on_commit_callbacks() as callbacks:
        audience_services.recompute_audiences(tenant_id=tenant.pk)
    assert analytics.pending_rollups(tenant_id=tenant.pk) == len(people)
    assert not CourseFact.objects.filter(tenant=tenant).exists()
    for callback in callbacks:  # the worker's task among them, once
        callback()
    assert not PendingRollup.objects.exists()
    assert set(CourseFact.objects.filter(tenant=tenant).values_list("person_id", "course_id")) == {
        (p.pk, assignment.course_id) for p in people
    }
    assert reference.stored() == reference.expected()


def test_applying_a_large_batch_runs_a_bounded_number_of_queries(
    tenant, django_assert_max_num_queries
):
    audience = builders.audience(tenant, "Sales")
    _assign(tenant, audience, due_kind="days_after_assignment", due_days=7)
    people = PersonFactory.create_batch(30, tenant=tenant)
    ids = builders.join(audience, *people)
    with django_assert_max_num_queries(25):
        result = services.apply_membership_change(
            tenant_id=tenant.pk, audience_id=audience.pk, joined=ids, left=[]
        )
    assert result.enrolled == 30


def test_a_step_added_to_an_assigned_path_enrols_the_people_already_on_it(
    tenant, django_capture_on_commit_callbacks
):
    first = builders.course_with_page(tenant, "Welcome")
    member = PersonFactory(tenant=tenant)
    audience = builders.audience(tenant, "Sales", member)
    path = builders.path_of(tenant, "Sales starter", first)
    assignment, _ = services.create_assignment(
        actor=SYSTEM, tenant_id=tenant.pk, audience=audience, path=path
    )
    assert _statuses(member) == {"Welcome": "assigned"}
    extra = builders.course_with_page(tenant, "Objection handling")
    from uptake.paths import services as path_services

    with django_capture_on_commit_callbacks(execute=True):
        path_services.add_step(actor=SYSTEM, path=path, course=extra)
    assert _statuses(member) == {"Welcome": "assigned", "Objection handling": "assigned"}
    linked = AssignmentEnrollment.objects.filter(assignment=assignment, person=member)
    assert {link.enrollment.course.title for link in linked} == {"Welcome", "Objection handling"}
