"""The assignments API: platform admins only, counts, preview, other tenants get 404."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.test import Client

from tests.factories import CourseFactory, PersonFactory, grant
from uptake.assignments.tests import builders
from uptake.enrollment.models import Enrollment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC), tick=False):
        yield


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_admin_previews_creates_lists_and_stops_an_assignment(
    tenant, django_assert_max_num_queries
):
    admin = grant(PersonFactory(tenant=tenant), "platform_admin")
    people = PersonFactory.create_batch(3, tenant=tenant, hire_date=dt.date(2026, 11, 1))
    audience = builders.audience(tenant, "Sales", *people)
    course = CourseFactory(tenant=tenant, title="Pipeline")
    Enrollment.objects.create(
        tenant=tenant,
        person=people[0],
        course=course,
        assigned_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    client = client_for(admin)
    preview = post(
        client, "/api/v1/assignments/preview", {"audience_id": audience.pk, "course_id": course.pk}
    )
    assert preview.json() == {"members": 3, "will_enroll": 2, "already": 1}
    created = post(
        client,
        "/api/v1/assignments",
        {
            "audience_id": audience.pk,
            "course_id": course.pk,
            "due_kind": "days_after_hire",
            "due_days": 14,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["enrolled"] == 2
    assert (
        body["assignment"]["members"],
        body["assignment"]["enrolled"],
        body["assignment"]["overdue"],
    ) == (3, 3, 2)
    with django_assert_max_num_queries(8):
        listed = client.get("/api/v1/assignments")
    assert [a["id"] for a in listed.json()] == [body["assignment"]["id"]]
    stopped = client.post(f"/api/v1/assignments/{body['assignment']['id']}/deactivate")
    assert stopped.json()["is_active"] is False


def test_a_bad_assignment_is_refused_field_by_field(tenant):
    admin = grant(PersonFactory(tenant=tenant), "platform_admin")
    audience = builders.audience(tenant, "Sales")
    refused = post(
        client_for(admin),
        "/api/v1/assignments",
        {"audience_id": audience.pk, "due_kind": "fixed_date"},
    )
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["target", "due_date"]


def test_only_platform_admins_use_assignments(tenant):
    owner = grant(PersonFactory(tenant=tenant), "content_owner")
    assert client_for(owner).get("/api/v1/assignments").status_code == 403


def test_another_tenants_assignment_and_audience_answer_404(tenant, other_tenant):
    admin = grant(PersonFactory(tenant=tenant), "platform_admin")
    theirs = builders.audience(other_tenant, "Theirs")
    course = CourseFactory(tenant=tenant)
    client = client_for(admin)
    assert (
        post(
            client, "/api/v1/assignments", {"audience_id": theirs.pk, "course_id": course.pk}
        ).status_code
        == 404
    )
    from uptake.assignments import services
    from uptake.assignments.tests.builders import SYSTEM

    foreign, _ = services.create_assignment(
        actor=SYSTEM,
        tenant_id=other_tenant.pk,
        audience=theirs,
        course=CourseFactory(tenant=other_tenant),
    )
    assert client.get(f"/api/v1/assignments/{foreign.pk}").status_code == 404
    assert client.post(f"/api/v1/assignments/{foreign.pk}/deactivate").status_code == 404
