"""My learning, team overview and enrolment lists: order, filters and query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from uptake.enrollment import selectors, services
from uptake.enrollment.models import Enrollment
from uptake.enrollment.tests import builders
from uptake.enrollment.tests.builders import SYSTEM
from uptake.identity.context import Viewer
from uptake.people.selectors import roles_of
from uptake.progress import services as progress

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def enrol(tenant: Any, person: Any, course: Any, *, due: dt.datetime | None = None) -> Enrollment:
    e: Enrollment = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=person, course=course, source="rule", due_at=due
    )
    return e


def test_my_learning_lists_overdue_first_then_by_due_date_completed_last(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    done = builders.make_course(tenant, title="Done", quiz=False, pages=1)
    later = builders.make_course(tenant, title="Later")
    undated = builders.make_course(tenant, title="Undated")
    overdue = builders.make_course(tenant, title="Overdue")
    soon = builders.make_course(tenant, title="Soon")
    withdrawn = builders.make_course(tenant, title="Withdrawn")
    e = enrol(tenant, learner, done.course, due=NOW - 3 * DAY)
    progress.complete_activity(actor=SYSTEM, enrollment=e, activity=done.pages[0])
    enrol(tenant, learner, later.course, due=NOW + 20 * DAY)
    enrol(tenant, learner, undated.course)
    enrol(tenant, learner, overdue.course, due=NOW - DAY)
    enrol(tenant, learner, soon.course, due=NOW + 2 * DAY)
    services.withdraw_enrollment(actor=SYSTEM, enrollment=enrol(tenant, learner, withdrawn.course))
    items = selectors.my_learning(person=learner)
    assert [i.course.title for i in items] == ["Overdue", "Soon", "Later", "Undated", "Done"]
    assert [(i.is_overdue, i.is_due_soon) for i in items] == [
        (True, False),
        (False, True),
        (False, False),
        (False, False),
        (False, False),
    ]
    assert items[-1].status == "completed"
    assert items[-1].progress_percent == 100


def test_next_activity_is_the_last_opened_if_not_done_else_first_required_not_done(
    tenant, learner, kit
) -> None:  # type: ignore[no-untyped-def]
    e = enrol(tenant, learner, kit.course)
    assert selectors.my_learning(person=learner)[0].next_activity == kit.pages[0]
    progress.open_activity(actor=SYSTEM, enrollment=e, activity=kit.pages[1])
    assert selectors.my_learning(person=learner)[0].next_activity == kit.pages[1]
    progress.complete_activity(actor=SYSTEM, enrollment=e, activity=kit.pages[1])
    assert selectors.my_learning(person=learner)[0].next_activity == kit.pages[0]
    progress.complete_activity(actor=SYSTEM, enrollment=e, activity=kit.pages[0])
    assert selectors.my_learning(person=learner)[0].next_activity == kit.quiz


def test_my_learning_query_count_does_not_grow_with_enrolments(
    tenant, learner, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for n in range(8):
        kit = builders.make_course(tenant, title=f"C{n}", questions=1)
        e = enrol(tenant, learner, kit.course, due=NOW + n * DAY)
        progress.open_activity(actor=SYSTEM, enrollment=e, activity=kit.pages[0])
    with django_assert_max_num_queries(3):
        items = selectors.my_learning(person=learner)
        assert all(i.next_activity is not None for i in items)
        assert [i.course.title for i in items][:2] == ["C0", "C1"]


def test_my_learning_shows_only_the_persons_own_enrolments(
    tenant, other_tenant, learner, kit
) -> None:  # type: ignore[no-untyped-def]
    colleague = builders.person(tenant)
    enrol(tenant, colleague, kit.course)
    assert selectors.my_learning(person=learner) == []


def test_team_overview_puts_people_with_overdue_work_first(tenant, manager) -> None:  # type: ignore[no-untyped-def]
    a = builders.person(tenant, first_name="Ann", last_name="Able", manager=manager)
    b = builders.person(tenant, first_name="Bob", last_name="Zed", manager=manager)
    deep = builders.person(tenant, first_name="Dee", last_name="Deep", manager=a)
    builders.person(tenant, last_name="Gone", manager=manager, is_active=False)
    k1 = builders.make_course(tenant, title="One", quiz=False, pages=1)
    k2 = builders.make_course(tenant, title="Two")
    e = enrol(tenant, a, k1.course)
    progress.complete_activity(actor=SYSTEM, enrollment=e, activity=k1.pages[0])
    enrol(tenant, a, k2.course, due=NOW + DAY)
    enrol(tenant, b, k1.course, due=NOW + 5 * DAY)
    enrol(tenant, b, k2.course, due=NOW - DAY)
    enrol(tenant, deep, k2.course)

    rows = selectors.team_overview(manager=manager)
    assert [r.person.last_name for r in rows] == ["Zed", "Able"]
    zed, able = rows
    assert [e.course.title for e in zed.enrollments] == ["Two", "One"]
    assert zed.counts == selectors.TeamCounts(assigned=2, in_progress=0, completed=0, overdue=1)
    assert able.counts == selectors.TeamCounts(assigned=1, in_progress=0, completed=1, overdue=0)

    everyone = selectors.team_overview(manager=manager, include_indirect=True)
    assert [r.person.last_name for r in everyone] == ["Zed", "Able", "Deep"]


def test_team_overview_query_count_is_pinned(
    tenant, manager, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    kit = builders.make_course(tenant)
    for _ in range(6):
        report = builders.person(tenant, manager=manager)
        enrol(tenant, report, kit.course)
        for _ in range(2):
            enrol(tenant, builders.person(tenant, manager=report), kit.course)
    with django_assert_max_num_queries(2):
        assert len(selectors.team_overview(manager=manager)) == 6
    with django_assert_max_num_queries(4):
        assert len(selectors.team_overview(manager=manager, include_indirect=True)) == 18


def test_list_enrollments_filters_by_course_person_status_overdue_and_source(
    tenant, other_tenant, learner, kit
) -> None:  # type: ignore[no-untyped-def]
    other = builders.make_course(tenant, title="Other")
    colleague = builders.person(tenant)
    late = enrol(tenant, learner, kit.course, due=NOW - DAY)
    fine = enrol(tenant, colleague, kit.course, due=NOW + DAY)
    own = services.self_enroll(actor=SYSTEM, person=learner, course=other.course)
    foreign = builders.make_course(other_tenant, title="Foreign")
    enrol(other_tenant, builders.person(other_tenant), foreign.course)

    def ids(**filters: Any) -> list[int]:
        return list(
            selectors.list_enrollments(tenant_id=tenant.pk, **filters).values_list("pk", flat=True)
        )

    assert ids() == [late.pk, fine.pk, own.pk]
    assert ids(course_id=kit.course.pk) == [late.pk, fine.pk]
    assert ids(person_id=learner.pk) == [late.pk, own.pk]
    assert ids(status="overdue") == [late.pk]
    assert ids(status="assigned") == [late.pk, fine.pk, own.pk]
    assert ids(source="self") == [own.pk]


def test_get_enrollment_of_another_tenant_is_not_found(tenant, other_tenant, kit) -> None:  # type: ignore[no-untyped-def]
    from uptake.core.errors import NotFound

    foreign = builders.make_course(other_tenant, title="Foreign")
    e = enrol(other_tenant, builders.person(other_tenant), foreign.course)
    with pytest.raises(NotFound):
        selectors.get_enrollment(tenant_id=tenant.pk, enrollment_id=e.pk)
    assert selectors.get_enrollment(tenant_id=other_tenant.pk, enrollment_id=e.pk) == e


def test_enrollment_for(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    assert selectors.enrollment_for(person=learner, course=kit.course) is None
    e = enrol(tenant, learner, kit.course)
    assert selectors.enrollment_for(person=learner, course=kit.course) == e


def test_assignment_candidates_and_preview(tenant, manager, kit) -> None:  # type: ignore[no-untyped-def]
    mine = [builders.person(tenant, manager=manager, department="Sales") for _ in range(3)]
    builders.person(tenant, manager=manager, department="Sales", is_active=False)
    builders.person(tenant, department="Sales")  # not in the team
    enrol(tenant, mine[0], kit.course)
    services.withdraw_enrollment(actor=SYSTEM, enrollment=enrol(tenant, mine[1], kit.course))
    viewer = Viewer(person=manager, roles=roles_of(person=manager))
    ids = list(
        selectors.assignment_candidates(viewer=viewer, filters={"department": "Sales"}).values_list(
            "pk", flat=True
        )
    )
    assert sorted(ids) == sorted(p.pk for p in mine)
    preview = selectors.assignment_preview(
        tenant_id=tenant.pk, course_id=kit.course.pk, person_ids=ids
    )
    assert (preview.matching, preview.already, preview.reactivated, preview.to_enrol) == (
        3,
        1,
        1,
        2,
    )
