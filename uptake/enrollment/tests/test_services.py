"""Assigning, self-enrolling, withdrawing and re-dating enrolments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import transaction

from uptake.analytics.models import LearningEvent, Verb
from uptake.catalog.models import Course
from uptake.core.errors import NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment import services
from uptake.enrollment.events import EnrollmentCreated, EnrollmentWithdrawn
from uptake.enrollment.models import Enrollment
from uptake.enrollment.tests import builders
from uptake.enrollment.tests.builders import SYSTEM, actor_of
from uptake.identity.context import Viewer
from uptake.people.selectors import roles_of

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)
DUE = NOW + dt.timedelta(days=14)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def viewer(person: Any) -> Viewer:
    if hasattr(person, "_uptake_roles"):
        del person._uptake_roles
    return Viewer(person=person, roles=roles_of(person=person))


def published_events(callbacks: list[Any]) -> list[Any]:
    """The domain events a list of on-commit callbacks would publish (run them)."""
    from uptake.core import bus

    seen: list[Any] = []
    original = bus.dispatch
    bus.dispatch = seen.append  # type: ignore[assignment]
    try:
        for callback in callbacks:
            callback()
    finally:
        bus.dispatch = original  # type: ignore[assignment]
    return seen


# --- enroll_person -------------------------------------------------------------------------------


def test_enrolling_a_person_creates_an_assigned_enrolment_with_event(
    tenant, kit, learner, admin, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks() as callbacks:
        enrollment = services.enroll_person(
            actor=actor_of(admin),
            tenant_id=tenant.pk,
            person=learner,
            course=kit.course,
            due_at=DUE,
        )
    assert (enrollment.status, enrollment.source, enrollment.due_at) == ("assigned", "manual", DUE)
    assert enrollment.assigned_at == NOW
    assert enrollment.assigned_by_id == admin.pk
    event = LearningEvent.objects.get()
    assert (event.verb, event.person_id, event.object_type, event.object_id, event.course_id) == (
        Verb.ASSIGNED,
        learner.pk,
        "course",
        kit.course.pk,
        kit.course.pk,
    )
    assert event.data["enrollment_id"] == enrollment.pk
    assert published_events(callbacks) == [
        EnrollmentCreated(
            tenant_id=tenant.pk,
            enrollment_id=enrollment.pk,
            person_id=learner.pk,
            course_id=kit.course.pk,
            source="manual",
            due_at=DUE,
        )
    ]


def test_enrolling_twice_reuses_the_enrolment_and_writes_one_event(
    tenant, kit, learner, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    first = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    with django_capture_on_commit_callbacks() as callbacks:
        again = services.enroll_person(
            actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course, due_at=DUE
        )
    assert again.pk == first.pk
    assert again.due_at is None
    assert Enrollment.objects.count() == 1
    assert LearningEvent.objects.filter(verb=Verb.ASSIGNED).count() == 1
    assert callbacks == []


def test_withdrawn_enrolment_is_reactivated_with_a_new_assigned_at_and_due_date(
    tenant, kit, learner
) -> None:  # type: ignore[no-untyped-def]
    enrollment = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    services.withdraw_enrollment(actor=SYSTEM, enrollment=enrollment)
    later = NOW + dt.timedelta(days=3)
    with time_machine.travel(later, tick=False):
        again = services.enroll_person(
            actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course, due_at=DUE
        )
    again.refresh_from_db()
    assert again.pk == enrollment.pk
    assert (again.status, again.assigned_at, again.due_at, again.withdrawn_at) == (
        "assigned",
        later,
        DUE,
        None,
    )
    assert list(
        LearningEvent.objects.order_by("occurred_at", "id").values_list("verb", flat=True)
    ) == ["assigned", "withdrawn", "assigned"]


def test_reactivated_enrolment_that_had_started_continues_in_progress(tenant, kit, learner) -> None:  # type: ignore[no-untyped-def]
    from uptake.progress import services as progress

    enrollment = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    progress.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=kit.pages[0])
    services.withdraw_enrollment(actor=SYSTEM, enrollment=enrollment)
    again = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    assert again.status == "in_progress"
    assert again.progress_percent == 33


def test_another_tenants_person_or_course_is_not_found(tenant, other_tenant, kit, learner) -> None:  # type: ignore[no-untyped-def]
    stranger = builders.person(other_tenant)
    foreign = builders.make_course(other_tenant, slug="foreign").course
    with pytest.raises(NotFound):
        services.enroll_person(
            actor=SYSTEM, tenant_id=tenant.pk, person=stranger, course=kit.course
        )
    with pytest.raises(NotFound):
        services.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=foreign)
    assert Enrollment.objects.count() == 0


def test_inactive_person_cannot_be_enrolled(tenant, kit) -> None:  # type: ignore[no-untyped-def]
    leaver = builders.person(tenant, first_name="Lee", last_name="Leaver", is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        services.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=leaver, course=kit.course)
    assert exc.value.detail == "Lee Leaver is no longer active, so they cannot be enrolled."


def test_unpublished_course_cannot_be_assigned(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    draft = builders.make_course(tenant, status=Course.Status.DRAFT).course
    with pytest.raises(ValidationFailed) as exc:
        services.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=draft)
    assert "is not published" in exc.value.detail


def test_due_date_in_the_past_is_refused_for_manual_assignment(tenant, kit, learner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        services.enroll_person(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            person=learner,
            course=kit.course,
            due_at=NOW - dt.timedelta(days=1),
        )
    assert exc.value.errors[0].field == "due_at"


def test_a_rolled_back_enrolment_leaves_no_event(tenant, kit, learner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course)
        assert LearningEvent.objects.count() == 1
        raise RuntimeError("the caller's transaction fails later")
    assert Enrollment.objects.count() == 0
    assert LearningEvent.objects.count() == 0


# --- permissions ---------------------------------------------------------------------------------


def test_manager_may_assign_direct_and_indirect_reports_only(tenant, kit, manager) -> None:  # type: ignore[no-untyped-def]
    report = builders.person(tenant, manager=manager)
    report_of_report = builders.person(tenant, manager=report)
    outsider = builders.person(tenant)
    v = viewer(manager)
    for p in (report, report_of_report):
        services.enroll_person(
            actor=v.actor, tenant_id=tenant.pk, person=p, course=kit.course, viewer=v
        )
    with pytest.raises(PermissionDenied) as exc:
        services.enroll_person(
            actor=v.actor, tenant_id=tenant.pk, person=outsider, course=kit.course, viewer=v
        )
    assert exc.value.detail == "Managers can only assign learning to their own team."
    assert set(Enrollment.objects.values_list("person_id", flat=True)) == {
        report.pk,
        report_of_report.pk,
    }


def test_learner_without_reports_cannot_assign(tenant, kit, learner) -> None:  # type: ignore[no-untyped-def]
    colleague = builders.person(tenant)
    v = viewer(learner)
    with pytest.raises(PermissionDenied):
        services.enroll_person(
            actor=v.actor, tenant_id=tenant.pk, person=colleague, course=kit.course, viewer=v
        )


def test_platform_admin_may_assign_anyone_in_the_organisation(tenant, kit, admin) -> None:  # type: ignore[no-untyped-def]
    anyone = builders.person(tenant)
    v = viewer(admin)
    enrollment = services.enroll_person(
        actor=v.actor, tenant_id=tenant.pk, person=anyone, course=kit.course, viewer=v
    )
    assert enrollment.person_id == anyone.pk


# --- enroll_people -------------------------------------------------------------------------------


def test_bulk_enrolment_counts_created_reactivated_and_already(
    tenant, kit, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    people = [builders.person(tenant) for _ in range(5)]
    services.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=people[0], course=kit.course)
    withdrawn = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=people[1], course=kit.course
    )
    services.withdraw_enrollment(actor=SYSTEM, enrollment=withdrawn)
    LearningEvent.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        result = services.enroll_people(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            person_ids=[p.pk for p in people] + [people[2].pk],
            course=kit.course,
            due_at=DUE,
        )
    assert result == services.BulkEnrollResult(created=3, reactivated=1, already=1)
    assert result.enrolled == 4
    assert Enrollment.objects.filter(status="assigned", due_at=DUE).count() == 4
    events = LearningEvent.objects.filter(verb=Verb.ASSIGNED)
    assert sorted(events.values_list("person_id", flat=True)) == sorted(p.pk for p in people[1:])
    enrolment_of = dict(Enrollment.objects.filter(course=kit.course).values_list("person_id", "pk"))
    assert sorted((e.person_id, e.data) for e in events) == sorted(
        (
            p.pk,
            {
                "enrollment_id": enrolment_of[p.pk],
                "source": "manual",
                "reactivated": p == people[1],
                "actor_person_id": None,
            },
        )
        for p in people[1:]
    )
    published = published_events(callbacks)
    assert len(published) == 4
    assert all(isinstance(e, EnrollmentCreated) for e in published)


@pytest.mark.parametrize("listener", [True, False], ids=["listened", "nobody-listens"])
def test_rule_enrolment_publishes_its_events_to_listeners_only(
    tenant, kit, django_capture_on_commit_callbacks, monkeypatch, listener
) -> None:  # type: ignore[no-untyped-def]
    """A rule batch builds its EnrollmentCreated events only when some handler receives them
    (a recompute enrols 100,000 people)."""
    from uptake.core import bus

    handlers = [lambda event: None] if listener else []
    monkeypatch.setitem(bus._subscriptions(), EnrollmentCreated, handlers)
    people = [builders.person(tenant) for _ in range(3)]
    with django_capture_on_commit_callbacks() as callbacks:
        result = services.enroll_people_due(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            due_by_person={p.pk: DUE for p in people},
            course=kit.course,
        )
    assert result.created == 3
    published = published_events(callbacks)
    assert sorted(e.person_id for e in published) == (
        sorted(p.pk for p in people) if listener else []
    )
    assert LearningEvent.objects.filter(verb=Verb.ASSIGNED).count() == 3  # recorded either way


def test_bulk_enrolment_uses_a_fixed_number_of_queries(tenant, kit) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    # Each size one INSERT ... SELECT ... RETURNING on every database (bulk.insert_columns).
    for size in (10, 40):
        people = [builders.person(tenant) for _ in range(size)]
        with CaptureQueriesContext(connection) as captured:
            result = services.enroll_people(
                actor=SYSTEM,
                tenant_id=tenant.pk,
                person_ids=[p.pk for p in people],
                course=kit.course,
            )
        assert result.created == size
        counts.append(len(captured.captured_queries))
    # The enrolments and their events (their people checked once, ADR 0032), then the
    # analytics rollups (facts, cells, the people's dimension cells of ADR 0017), whatever the
    # number of people. PostgreSQL makes the rollup rows exist and locks them before reading
    # them (ADR 0014): two statements more.
    assert counts[0] == counts[1] <= (18 if connection.vendor == "sqlite" else 20)


def test_bulk_enrolment_is_all_or_nothing_and_lists_who_cannot_be_enrolled(
    tenant, other_tenant, kit
) -> None:  # type: ignore[no-untyped-def]
    fine = builders.person(tenant)
    leaver = builders.person(tenant, is_active=False)
    stranger = builders.person(other_tenant)
    with pytest.raises(ValidationFailed) as exc:
        services.enroll_people(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            person_ids=[fine.pk, leaver.pk, stranger.pk],
            course=kit.course,
        )
    assert [(p.row, p.message) for p in exc.value.errors] == [
        (stranger.pk, "No such person."),
        (leaver.pk, "This person is not active."),
    ]
    assert Enrollment.objects.count() == 0


def test_manager_bulk_enrolment_outside_the_team_is_refused(tenant, kit, manager) -> None:  # type: ignore[no-untyped-def]
    report = builders.person(tenant, manager=manager)
    outsider = builders.person(tenant)
    v = viewer(manager)
    with pytest.raises(PermissionDenied):
        services.enroll_people(
            actor=v.actor,
            tenant_id=tenant.pk,
            person_ids=[report.pk, outsider.pk],
            course=kit.course,
            viewer=v,
        )
    assert Enrollment.objects.count() == 0


# --- self_enroll ---------------------------------------------------------------------------------


def test_learner_self_enrols_in_an_open_course(kit, learner) -> None:  # type: ignore[no-untyped-def]
    enrollment = services.self_enroll(actor=actor_of(learner), person=learner, course=kit.course)
    assert (enrollment.source, enrollment.status, enrollment.due_at) == ("self", "assigned", None)


def test_closed_or_unpublished_courses_cannot_be_self_enrolled(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    closed = builders.make_course(tenant, is_open=False).course
    draft = builders.make_course(tenant, status=Course.Status.DRAFT).course
    for course in (closed, draft):
        with pytest.raises(ValidationFailed) as exc:
            services.self_enroll(actor=actor_of(learner), person=learner, course=course)
        assert "is not open for self-enrolment" in exc.value.detail
    assert Enrollment.objects.count() == 0


# --- withdraw and due date -----------------------------------------------------------------------


def test_withdrawing_sets_status_writes_event_and_publishes(
    tenant, kit, learner, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    enrollment = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    with django_capture_on_commit_callbacks() as callbacks:
        services.withdraw_enrollment(actor=SYSTEM, enrollment=enrollment)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.withdrawn_at) == ("withdrawn", NOW)
    assert LearningEvent.objects.filter(verb=Verb.WITHDRAWN, person=learner).count() == 1
    assert published_events(callbacks) == [
        EnrollmentWithdrawn(
            tenant_id=tenant.pk,
            enrollment_id=enrollment.pk,
            person_id=learner.pk,
            course_id=kit.course.pk,
        )
    ]
    services.withdraw_enrollment(actor=SYSTEM, enrollment=enrollment)
    assert LearningEvent.objects.filter(verb=Verb.WITHDRAWN).count() == 1


def test_learner_may_leave_a_self_enrolment_but_not_an_assignment(tenant, kit, learner) -> None:  # type: ignore[no-untyped-def]
    v = viewer(learner)
    own = services.self_enroll(actor=v.actor, person=learner, course=kit.course)
    services.withdraw_enrollment(actor=v.actor, enrollment=own, viewer=v)
    other = builders.make_course(tenant, slug="assigned-one").course
    assigned = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=other
    )
    with pytest.raises(PermissionDenied):
        services.withdraw_enrollment(actor=v.actor, enrollment=assigned, viewer=v)


def test_changing_the_due_date(tenant, kit, learner) -> None:  # type: ignore[no-untyped-def]
    enrollment = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    services.change_due_date(actor=SYSTEM, enrollment=enrollment, due_at=DUE)
    enrollment.refresh_from_db()
    assert enrollment.due_at == DUE
    services.change_due_date(actor=SYSTEM, enrollment=enrollment, due_at=None)
    enrollment.refresh_from_db()
    assert enrollment.due_at is None
    with pytest.raises(ValidationFailed):
        services.change_due_date(
            actor=SYSTEM, enrollment=enrollment, due_at=NOW - dt.timedelta(hours=1)
        )


def test_changing_the_due_date_of_a_withdrawn_enrolment_is_refused(tenant, kit, learner) -> None:  # type: ignore[no-untyped-def]
    enrollment = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=learner, course=kit.course
    )
    services.withdraw_enrollment(actor=SYSTEM, enrollment=enrollment)
    with pytest.raises(ValidationFailed):
        services.change_due_date(actor=SYSTEM, enrollment=enrollment, due_at=DUE)
