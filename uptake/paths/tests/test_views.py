"""Path screens: the editor (with precise errors) and the learner's paths."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import CourseFactory, PersonFactory, grant
from uptake.assignments.tests import builders
from uptake.assignments.tests.builders import SYSTEM
from uptake.paths import services
from uptake.paths.models import LearningPath

pytestmark = pytest.mark.django_db


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def test_a_content_owner_creates_a_path_and_adds_steps_in_the_editor(tenant):
    owner = grant(PersonFactory(tenant=tenant), "content_owner")
    course = CourseFactory(tenant=tenant, title="Product basics")
    client = client_for(owner)
    created = client.post("/paths/", {"title": "Sales Starter", "order_mode": "sequential"})
    path = LearningPath.objects.get(tenant=tenant)
    assert created.status_code == 302 and created["Location"] == f"/paths/{path.pk}/"
    added = client.post(
        f"/paths/{path.pk}/", {"action": "add_step", "course_id": course.pk, "required": "on"}
    )
    assert added.status_code == 302
    page = client.get(f"/paths/{path.pk}/").content.decode()
    assert "Product basics" in page and 'name="prerequisites"' not in page


def test_a_bad_condition_is_shown_with_its_place(tenant):
    owner = grant(PersonFactory(tenant=tenant), "platform_admin")
    path = services.create_path(actor=SYSTEM, tenant_id=tenant.pk, title="Starter")
    course = CourseFactory(tenant=tenant)
    response = client_for(owner).post(
        f"/paths/{path.pk}/",
        {"action": "add_step", "course_id": course.pk, "condition": 'location = "Paris" and ('},
    )
    assert response.status_code == 400
    assert "line 1, column" in response.content.decode()
    assert not path.steps.exists()


def test_learners_cannot_open_the_editor(tenant):
    learner = PersonFactory(tenant=tenant)
    assert client_for(learner).get("/paths/").status_code == 403


def test_another_tenants_path_is_not_found_in_the_editor(tenant, other_tenant):
    owner = grant(PersonFactory(tenant=tenant), "content_owner")
    theirs = services.create_path(actor=SYSTEM, tenant_id=other_tenant.pk, title="Theirs")
    assert client_for(owner).get(f"/paths/{theirs.pk}/").status_code == 404


def test_my_paths_shows_locked_steps_and_what_unlocks_them(tenant):
    learner = PersonFactory(tenant=tenant)
    a = CourseFactory(tenant=tenant, title="Product basics")
    b = CourseFactory(tenant=tenant, title="Pricing")
    path = builders.path_of(tenant, "Sales Starter", a, b)
    services.enroll_people_in_path(
        actor=SYSTEM, tenant_id=tenant.pk, path=path, due_by_person={learner.pk: None}
    )
    page = client_for(learner).get("/paths/mine/").content.decode()
    assert "Sales Starter" in page
    assert "Complete “Product basics” to unlock" in page
    home = client_for(learner).get("/").content.decode()
    assert 'hx-get="/paths/mine/section/"' in home
    section = client_for(learner).get("/paths/mine/section/").content.decode()
    assert "My learning paths" in section and "Sales Starter" in section
