"""The assignments screen: counts, preview before saving, create, stop."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import CourseFactory, PersonFactory, grant
from uptake.assignments.models import Assignment
from uptake.assignments.tests import builders
from uptake.enrollment.models import Enrollment

pytestmark = pytest.mark.django_db


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def test_admin_sees_how_many_will_be_enrolled_then_creates_the_assignment(tenant):
    admin = grant(PersonFactory(tenant=tenant), "platform_admin")
    people = PersonFactory.create_batch(2, tenant=tenant)
    audience = builders.audience(tenant, "Sales", *people)
    course = CourseFactory(tenant=tenant, title="Pipeline")
    client = client_for(admin)
    form = {
        "audience_id": audience.pk,
        "target": f"course:{course.pk}",
        "due_kind": "days_after_assignment",
        "due_days": "7",
        "on_leave": "keep",
    }
    preview = client.get("/assignments/preview/", form).content.decode()
    assert "2 people will be enrolled now." in preview
    created = client.post("/assignments/", form)
    assert created.status_code == 302
    assert Enrollment.objects.filter(course=course).count() == 2
    listing = client.get("/assignments/").content.decode()
    assert "Pipeline" in listing and "Assignment created: 2 people enrolled." in listing
    assignment = Assignment.objects.get()
    client.post(f"/assignments/{assignment.pk}/deactivate/")
    assignment.refresh_from_db()
    assert assignment.is_active is False


def test_a_bad_form_is_shown_again_with_the_reason(tenant):
    admin = grant(PersonFactory(tenant=tenant), "platform_admin")
    audience = builders.audience(tenant, "Sales")
    response = client_for(admin).post(
        "/assignments/", {"audience_id": audience.pk, "target": "", "due_kind": "none"}
    )
    assert response.status_code == 400
    assert "Choose a path or a course (one of them)." in response.content.decode()


def test_only_platform_admins_open_the_assignments_screen(tenant):
    manager = PersonFactory(tenant=tenant)
    assert client_for(manager).get("/assignments/").status_code == 403
