"""The paths API: editors write, learners read their own progress, other tenants get 404."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import CourseFactory, PersonFactory, grant
from uptake.assignments.tests import builders
from uptake.assignments.tests.builders import SYSTEM
from uptake.paths import services

pytestmark = pytest.mark.django_db


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def send(client: Client, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def test_a_content_owner_builds_and_publishes_a_path(tenant):
    owner = grant(PersonFactory(tenant=tenant), "content_owner")
    a, b = CourseFactory(tenant=tenant, title="A"), CourseFactory(tenant=tenant, title="B")
    client = client_for(owner)
    created = send(client, "post", "/api/v1/paths", {"title": "Starter", "order_mode": "free"})
    assert created.status_code == 201, created.content
    path_id = created.json()["id"]
    for course in (a, b):
        assert (
            send(
                client, "post", f"/api/v1/paths/{path_id}/steps", {"course_id": course.pk}
            ).status_code
            == 201
        )
    steps = client.get(f"/api/v1/paths/{path_id}").json()["steps"]
    first, second = steps[0]["id"], steps[1]["id"]
    ok = send(
        client,
        "put",
        f"/api/v1/paths/{path_id}/steps/{second}/prerequisites",
        {"prerequisite_ids": [first]},
    )
    assert ok.status_code == 200
    cycle = send(
        client,
        "put",
        f"/api/v1/paths/{path_id}/steps/{first}/prerequisites",
        {"prerequisite_ids": [second]},
    )
    assert cycle.status_code == 400
    assert cycle["Content-Type"] == "application/problem+json"
    assert cycle.json()["detail"] == "These prerequisites would make a cycle: A → B → A."
    published = client.post(f"/api/v1/paths/{path_id}/publish")
    assert published.json()["status"] == "published"


def test_learners_cannot_edit_paths_and_see_only_their_own(tenant):
    learner = PersonFactory(tenant=tenant)
    path = builders.path_of(tenant, "Starter", CourseFactory(tenant=tenant))
    client = client_for(learner)
    assert send(client, "post", "/api/v1/paths", {"title": "Mine"}).status_code == 403
    assert client.get("/api/v1/paths").json() == []
    assert client.get(f"/api/v1/paths/{path.pk}").status_code == 404
    services.enroll_people_in_path(
        actor=SYSTEM, tenant_id=tenant.pk, path=path, due_by_person={learner.pk: None}
    )
    assert [p["id"] for p in client.get("/api/v1/paths").json()] == [path.pk]
    progress = client.get(f"/api/v1/paths/{path.pk}/progress/me").json()
    assert progress["progress_percent"] == 0
    assert [s["state"] for s in progress["steps"]] == ["unlocked"]


def test_another_tenants_path_answers_404(tenant, other_tenant):
    admin = grant(PersonFactory(tenant=tenant), "platform_admin")
    foreign = builders.path_of(other_tenant, "Theirs", CourseFactory(tenant=other_tenant))
    client = client_for(admin)
    assert client.get(f"/api/v1/paths/{foreign.pk}").status_code == 404
    assert (
        send(client, "patch", f"/api/v1/paths/{foreign.pk}", {"title": "Mine"}).status_code == 404
    )
    assert client.get(f"/api/v1/paths/{foreign.pk}/progress/me").status_code == 404
    step = foreign.steps.get()
    assert (
        send(
            client,
            "put",
            f"/api/v1/paths/{foreign.pk}/steps/{step.pk}/prerequisites",
            {"prerequisite_ids": []},
        ).status_code
        == 404
    )
    own = builders.path_of(tenant, "Ours", CourseFactory(tenant=tenant))
    foreign_course = CourseFactory(tenant=other_tenant)
    assert (
        send(
            client, "post", f"/api/v1/paths/{own.pk}/steps", {"course_id": foreign_course.pk}
        ).status_code
        == 404
    )
