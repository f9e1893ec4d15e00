"""A full recompute whose person ranges run side by side (ADR 0038) ends exactly where the same
recompute one range at a time ends: memberships and their history, enrolments, links, learning
events, path enrolments and the managers' notifications."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.db import connection

from tests.factories import CourseFactory, PersonFactory, TenantFactory
from uptake.analytics.models import LearningEvent
from uptake.assignments import services
from uptake.assignments.models import Assignment, AssignmentEnrollment
from uptake.assignments.tests import builders
from uptake.assignments.tests.builders import SYSTEM
from uptake.audiences import services as audience_services
from uptake.audiences.models import AudienceMembership, MembershipChange
from uptake.enrollment.models import Enrollment
from uptake.notifications.models import Notification
from uptake.paths.models import PathEnrollment
from uptake.people.models import Person

# Threads open connections of their own: they must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DEPARTMENTS = ["Sales", "Ops", "Sales", "Marketing", "Sales", "Ops", "Sales"]


def _organisation(slug: str) -> Any:
    """Audiences and assignments first, then people the handlers never saw (created
    directly): the recompute has everything to do."""
    tenant = TenantFactory(name=slug, slug=slug)
    for name, rule_text in [
        ("Sales", 'department = "Sales"'),
        ("Not sales", 'department != "Sales"'),
    ]:
        audience_services.create_audience(
            actor=SYSTEM, tenant_id=tenant.pk, name=name, rule_text=rule_text
        )
    from uptake.audiences.models import Audience

    sales = Audience.objects.get(tenant=tenant, name="Sales")
    others = Audience.objects.get(tenant=tenant, name="Not sales")
    services.create_assignment(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        audience=sales,
        course=CourseFactory(tenant=tenant, title="Pipeline basics"),
        due_kind="days_after_hire",
        due_days=14,
        on_leave=Assignment.OnLeave.WITHDRAW_IF_NOT_STARTED,
    )
    services.create_assignment(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        audience=others,
        path=builders.path_of(
            tenant,
            "Starter",
            CourseFactory(tenant=tenant, title="Welcome"),
            CourseFactory(tenant=tenant, title="Tools"),
        ),
        due_kind="days_after_assignment",
        due_days=30,
    )
    manager = PersonFactory(tenant=tenant, employee_id="M", department="Exec", first_name="Maria")
    for i, department in enumerate(DEPARTMENTS):
        PersonFactory(
            tenant=tenant,
            employee_id=f"P{i}",
            department=department,
            manager=manager,
            hire_date=dt.date(2026, 11, 1) + dt.timedelta(days=i),
        )
    return tenant


def _state(tenant: Any) -> dict[str, Any]:
    """Everything the recompute writes, named by employee id and title (not by row id)."""
    eid = dict(Person.objects.filter(tenant=tenant).values_list("pk", "employee_id"))
    return {
        "members": sorted(
            (m.audience.name, eid[m.person_id])
            for m in AudienceMembership.objects.filter(tenant=tenant).select_related("audience")
        ),
        "history": sorted(
            (c.audience.name, eid[c.person_id], c.change, c.rule_version, c.reason)
            for c in MembershipChange.objects.filter(tenant=tenant).select_related("audience")
        ),
        "enrolments": sorted(
            (eid[e.person_id], e.course.title, e.status, e.due_at)
            for e in Enrollment.objects.filter(tenant=tenant).select_related("course")
        ),
        "links": sorted(
            (eid[link.person_id], link.enrollment.course.title, link.due_basis)
            for link in AssignmentEnrollment.objects.filter(tenant=tenant).select_related(
                "enrollment__course"
            )
        ),
        "paths": sorted(
            (eid[p.person_id], p.path.title, p.is_active)
            for p in PathEnrollment.objects.filter(tenant=tenant).select_related("path")
        ),
        "events": Counter(
            (e.verb, eid[e.person_id], e.course_id is not None)
            for e in LearningEvent.objects.filter(tenant=tenant)
        ),
        "told": sorted(
            n.title for n in Notification.objects.filter(tenant=tenant, person__employee_id="M")
        ),
    }


def _recompute_twice(tenant: Any) -> list[set[str]]:
    """A first recompute enrols everyone; then two people leave Sales behind the handlers'
    back and a second one moves them. Returns the threads each recompute's ranges ran in."""
    threads: list[set[str]] = []
    original = audience_services._recompute_range

    def spy(*args: Any, **kwargs: Any) -> None:
        threads[-1].add(threading.current_thread().name)
        original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audience_services, "_recompute_range", spy)
        for _ in range(2):
            threads.append(set())
            audience_services.recompute_audiences(tenant_id=tenant.pk)
            Person.objects.filter(tenant=tenant, employee_id__in=["P0", "P2"]).update(
                department="Ops"
            )
    return threads


def test_ranges_side_by_side_end_where_one_at_a_time_ends(monkeypatch, settings, smtp_mail):
    monkeypatch.setattr(audience_services, "RECOMPUTE_PEOPLE", 2)  # four ranges
    with time_machine.travel(NOW, tick=False):
        one = _organisation("one")
        settings.UPTAKE_RECOMPUTE_WORKERS = 1
        alone = _recompute_twice(one)
        many = _organisation("many")
        settings.UPTAKE_RECOMPUTE_WORKERS = 3
        side_by_side = _recompute_twice(many)
    assert all(len(names) == 1 for names in alone)
    if connection.vendor == "postgresql":
        assert all(len(names) > 1 for names in side_by_side)
        assert all(name.startswith("recompute-") for names in side_by_side for name in names)
    else:  # one writer: one range at a time, in the caller's thread
        assert side_by_side == alone
    expected, got = _state(one), _state(many)
    assert got == expected
    # The scenario did happen: joins, leaves with a withdrawal, a path, managers told once per
    # assignment and recompute (follow-ups merged across the threads).
    assert ("P0", "Pipeline basics", "withdrawn") in {row[:3] for row in got["enrolments"]}
    assert ("P0", "Starter", True) in got["paths"]
    assert got["told"] == [
        "2 of your reports were assigned “Starter”",
        "3 of your reports were assigned “Starter”",
        "4 of your reports were assigned “Pipeline basics”",
    ]


def test_a_failing_range_fails_the_recompute(monkeypatch, settings):
    monkeypatch.setattr(audience_services, "RECOMPUTE_PEOPLE", 2)
    settings.UPTAKE_RECOMPUTE_WORKERS = 3
    with time_machine.travel(NOW, tick=False):
        tenant = _organisation("failing")
    original = audience_services._recompute_range
    started: list[tuple[int, int]] = []

    def second_fails(tenant_id: int, chosen: Any, people: Any, *args: Any, **kw: Any) -> None:
        started.append(people)
        if len(started) == 2:
            raise RuntimeError("the database went away")
        original(tenant_id, chosen, people, *args, **kw)

    monkeypatch.setattr(audience_services, "_recompute_range", second_fails)
    with pytest.raises(RuntimeError, match="went away"), time_machine.travel(NOW, tick=False):
        audience_services.recompute_audiences(tenant_id=tenant.pk)
    # At most the ranges already running when it failed went on; none started after.
    assert len(started) <= 2 + 1


def test_people_are_cut_into_ranges_that_keep_every_worker_busy(monkeypatch):
    tenant = TenantFactory(slug="ranges")
    ids = [p.pk for p in PersonFactory.create_batch(12, tenant=tenant)]
    monkeypatch.setattr(audience_services, "RECOMPUTE_PEOPLE", 5)

    def sizes(workers: int) -> list[int]:
        ranges = audience_services._person_ranges(tenant.pk, workers)
        assert ranges[0][0] == ids[0] and ranges[-1][1] == ids[-1]
        return [ids.index(last) - ids.index(first) + 1 for first, last in ranges]

    assert sizes(1) == [5, 5, 2]  # one at a time: the largest ranges allowed
    assert sizes(2) == [3, 3, 3, 3]  # two rounds of two equal ranges, none above five
    assert sizes(3) == [4, 4, 4]
    assert sizes(12) == [1] * 12
