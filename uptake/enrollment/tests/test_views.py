"""The assign screen and the enrolments table."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import strip_tags

from uptake.enrollment import services
from uptake.enrollment.models import Enrollment
from uptake.enrollment.tests import builders
from uptake.enrollment.tests.builders import SYSTEM

pytestmark = pytest.mark.django_db


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def test_assign_screen_previews_how_many_will_be_enrolled(tenant, kit) -> None:  # type: ignore[no-untyped-def]
    admin = builders.admin(tenant, department="L&D")
    sales = [builders.person(tenant, department="Sales") for _ in range(5)]
    builders.person(tenant, department="Finance")
    services.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=sales[0], course=kit.course)
    response = client_for(admin).get(
        reverse("enrollment:assign"), {"course": kit.course.pk, "department": "Sales"}
    )
    assert response.status_code == 200
    text = " ".join(strip_tags(response.content.decode()).split())
    assert "4 people will be enrolled, 1 already is." in text
    assert Enrollment.objects.count() == 1


def test_assign_screen_enrols_everyone_matching_and_shows_counts(tenant, kit) -> None:  # type: ignore[no-untyped-def]
    admin = builders.admin(tenant, location="Leeds")
    sales = [builders.person(tenant, location="Paris") for _ in range(3)]
    services.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=sales[0], course=kit.course)
    due = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    response = client_for(admin).post(
        reverse("enrollment:assign"),
        {"course": kit.course.pk, "location": "Paris", "due_date": due, "action": "assign"},
    )
    assert response.status_code == 200
    assert Enrollment.objects.count() == 3
    assert Enrollment.objects.exclude(due_at=None).count() == 2
    text = " ".join(strip_tags(response.content.decode()).split())
    assert "2 people newly enrolled" in text
    assert "1 person was already enrolled (unchanged)" in text


def test_manager_assign_screen_reaches_only_their_team(tenant, manager, kit) -> None:  # type: ignore[no-untyped-def]
    mine = builders.person(tenant, manager=manager)
    builders.person(tenant)
    response = client_for(manager).post(
        reverse("enrollment:assign"),
        {
            "course": kit.course.pk,
            "team_of": manager.pk,
            "include_indirect": "on",
            "action": "assign",
        },
    )
    assert response.status_code == 200
    assert list(Enrollment.objects.values_list("person_id", flat=True)) == [mine.pk]


def test_learner_cannot_open_the_assign_screen(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    assert client_for(learner).get(reverse("enrollment:assign")).status_code == 403
    assert client_for(learner).get(reverse("enrollment:list")).status_code == 403


def test_enrolment_list_filters_overdue_and_withdraws(tenant, admin, kit) -> None:  # type: ignore[no-untyped-def]
    late_person = builders.person(tenant, first_name="Late", last_name="Larry")
    fine_person = builders.person(tenant, first_name="Fine", last_name="Fay")
    late = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=late_person, course=kit.course
    )
    services.enroll_person(actor=SYSTEM, tenant_id=tenant.pk, person=fine_person, course=kit.course)
    Enrollment.objects.filter(pk=late.pk).update(due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    client = client_for(admin)
    page = client.get(reverse("enrollment:list"), {"status": "overdue"}).content.decode()
    assert "Late Larry" in page
    assert "Fine Fay" not in page
    response = client.post(reverse("enrollment:withdraw", args=[late.pk]))
    assert response.status_code == 302
    late.refresh_from_db()
    assert late.status == "withdrawn"


def test_withdrawing_another_tenants_enrolment_is_404(tenant, other_tenant, admin) -> None:  # type: ignore[no-untyped-def]
    foreign_kit = builders.make_course(other_tenant, slug="foreign")
    stranger = builders.person(other_tenant)
    foreign = services.enroll_person(
        actor=SYSTEM, tenant_id=other_tenant.pk, person=stranger, course=foreign_kit.course
    )
    response = client_for(admin).post(reverse("enrollment:withdraw", args=[foreign.pk]))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "assigned"
