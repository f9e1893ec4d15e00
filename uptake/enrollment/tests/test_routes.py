"""The enrolment API: roles, filters, bulk assignment, self-enrolment and tenant isolation."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.test import Client

from uptake.enrollment import services
from uptake.enrollment.models import Enrollment
from uptake.enrollment.tests import builders
from uptake.enrollment.tests.builders import SYSTEM

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)
DUE = "2025-03-24T17:00:00Z"


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def enrol(tenant: Any, person: Any, course: Any, **kw: Any) -> Enrollment:
    e: Enrollment = services.enroll_person(
        actor=SYSTEM, tenant_id=tenant.pk, person=person, course=course, **kw
    )
    return e


# --- POST /enrollments ---------------------------------------------------------------------------


def test_admin_assigns_a_course_to_a_person(tenant, admin, learner, kit) -> None:  # type: ignore[no-untyped-def]
    response = post(
        client_for(admin),
        "/api/v1/enrollments",
        {"person_id": learner.pk, "course_id": kit.course.pk, "due_at": DUE},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["person"]["id"], body["course"]["id"], body["status"], body["source"]) == (
        learner.pk,
        kit.course.pk,
        "assigned",
        "manual",
    )
    assert body["due_at"].startswith("2025-03-24T17:00:00")
    assert body["is_overdue"] is False


def test_manager_assigns_their_team_but_not_others(tenant, manager, kit) -> None:  # type: ignore[no-untyped-def]
    report = builders.person(tenant, manager=manager)
    outsider = builders.person(tenant)
    client = client_for(manager)
    ok = post(client, "/api/v1/enrollments", {"person_id": report.pk, "course_id": kit.course.pk})
    assert ok.status_code == 201
    refused = post(
        client, "/api/v1/enrollments", {"person_id": outsider.pk, "course_id": kit.course.pk}
    )
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"] == "Managers can only assign learning to their own team."


def test_learner_cannot_assign(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    colleague = builders.person(tenant)
    response = post(
        client_for(learner),
        "/api/v1/enrollments",
        {"person_id": colleague.pk, "course_id": kit.course.pk},
    )
    assert response.status_code == 403
    assert Enrollment.objects.count() == 0


def test_assigning_another_tenants_person_or_course_is_404(
    tenant, other_tenant, admin, learner, kit
) -> None:  # type: ignore[no-untyped-def]
    stranger = builders.person(other_tenant)
    foreign = builders.make_course(other_tenant, slug="foreign").course
    client = client_for(admin)
    for body in (
        {"person_id": stranger.pk, "course_id": kit.course.pk},
        {"person_id": learner.pk, "course_id": foreign.pk},
    ):
        assert post(client, "/api/v1/enrollments", body).status_code == 404
    assert Enrollment.objects.count() == 0


def test_invalid_due_date_is_a_problem(tenant, admin, learner, kit) -> None:  # type: ignore[no-untyped-def]
    response = post(
        client_for(admin),
        "/api/v1/enrollments",
        {"person_id": learner.pk, "course_id": kit.course.pk, "due_at": "2020-01-01T00:00:00Z"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "The due date must be in the future.", "field": "due_at"}
    ]


# --- POST /enrollments/bulk ----------------------------------------------------------------------


def test_bulk_assignment_by_ids_returns_counts(tenant, admin, kit) -> None:  # type: ignore[no-untyped-def]
    people = [builders.person(tenant) for _ in range(3)]
    enrol(tenant, people[0], kit.course)
    response = post(
        client_for(admin),
        "/api/v1/enrollments/bulk",
        {"course_id": kit.course.pk, "person_ids": [p.pk for p in people], "due_at": DUE},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "reactivated": 0, "already": 1, "enrolled": 2}


def test_bulk_assignment_by_people_filter(tenant, admin, kit) -> None:  # type: ignore[no-untyped-def]
    paris = [builders.person(tenant, location="Paris", department="Sales") for _ in range(2)]
    builders.person(tenant, location="Paris", department="Sales", is_active=False)
    builders.person(tenant, location="Paris", department="Finance")
    builders.person(tenant, location="Berlin", department="Sales")
    response = post(
        client_for(admin),
        "/api/v1/enrollments/bulk",
        {"course_id": kit.course.pk, "people": {"location": "Paris", "department": "Sales"}},
    )
    assert response.json() == {"created": 2, "reactivated": 0, "already": 0, "enrolled": 2}
    assert set(Enrollment.objects.values_list("person_id", flat=True)) == {p.pk for p in paris}


def test_manager_bulk_filter_only_reaches_their_team(tenant, manager, kit) -> None:  # type: ignore[no-untyped-def]
    mine = builders.person(tenant, manager=manager, department="Sales")
    builders.person(tenant, department="Sales")
    response = post(
        client_for(manager),
        "/api/v1/enrollments/bulk",
        {"course_id": kit.course.pk, "people": {"department": "Sales"}},
    )
    assert response.json()["created"] == 1
    assert list(Enrollment.objects.values_list("person_id", flat=True)) == [mine.pk]


def test_bulk_assignment_needs_people(tenant, admin, kit) -> None:  # type: ignore[no-untyped-def]
    response = post(client_for(admin), "/api/v1/enrollments/bulk", {"course_id": kit.course.pk})
    assert response.status_code == 400


# --- GET /enrollments ----------------------------------------------------------------------------


def test_list_is_scoped_to_the_viewers_role(tenant, admin, manager, learner, kit) -> None:  # type: ignore[no-untyped-def]
    report = builders.person(tenant, manager=manager)
    mine = enrol(tenant, learner, kit.course)
    theirs = enrol(tenant, report, kit.course)

    def ids(person: Any) -> list[int]:
        body = client_for(person).get("/api/v1/enrollments").json()
        return sorted(item["id"] for item in body["items"])

    assert ids(admin) == sorted([mine.pk, theirs.pk])
    assert ids(manager) == [theirs.pk]
    assert ids(learner) == [mine.pk]


def test_list_filters_overdue_and_paginates(
    tenant, admin, kit, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    late = []
    for n in range(5):
        p = builders.person(tenant)
        e = enrol(tenant, p, kit.course, due_at=NOW + dt.timedelta(days=1))
        if n % 2 == 0:
            Enrollment.objects.filter(pk=e.pk).update(due_at=NOW - dt.timedelta(days=n + 1))
            late.append(e.pk)
    client = client_for(admin)
    with django_assert_max_num_queries(12):
        body = client.get("/api/v1/enrollments", {"status": "overdue"}).json()
    assert body["count"] == 3
    assert [item["id"] for item in body["items"]] == list(reversed(late))
    assert all(item["is_overdue"] for item in body["items"])
    page = client.get("/api/v1/enrollments", {"limit": 2, "offset": 0}).json()
    assert (page["count"], len(page["items"])) == (5, 2)


def test_another_tenants_enrolment_is_invisible(tenant, other_tenant, admin) -> None:  # type: ignore[no-untyped-def]
    foreign_kit = builders.make_course(other_tenant, slug="foreign")
    foreign = enrol(other_tenant, builders.person(other_tenant), foreign_kit.course)
    client = client_for(admin)
    assert client.get("/api/v1/enrollments").json()["count"] == 0
    assert client.get(f"/api/v1/enrollments/{foreign.pk}").status_code == 404
    assert client.post(f"/api/v1/enrollments/{foreign.pk}/withdraw").status_code == 404
    response = client.patch(
        f"/api/v1/enrollments/{foreign.pk}", json.dumps({"due_at": DUE}), "application/json"
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert (foreign.status, foreign.due_at) == ("assigned", None)


# --- withdraw and PATCH ---------------------------------------------------------------------


def test_admin_withdraws_and_changes_due_date(tenant, admin, learner, kit) -> None:  # type: ignore[no-untyped-def]
    e = enrol(tenant, learner, kit.course)
    client = client_for(admin)
    patched = client.patch(
        f"/api/v1/enrollments/{e.pk}", json.dumps({"due_at": DUE}), "application/json"
    )
    assert patched.status_code == 200
    assert patched.json()["due_at"].startswith("2025-03-24")
    withdrawn = client.post(f"/api/v1/enrollments/{e.pk}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"


def test_learner_cannot_withdraw_or_redate_anothers_enrolment(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    other = enrol(tenant, builders.person(tenant), kit.course)
    client = client_for(learner)
    assert client.post(f"/api/v1/enrollments/{other.pk}/withdraw").status_code == 404
    own = enrol(tenant, learner, kit.course)
    assert client.post(f"/api/v1/enrollments/{own.pk}/withdraw").status_code == 403
    other.refresh_from_db()
    own.refresh_from_db()
    assert (other.status, own.status) == ("assigned", "assigned")


# --- /me ---------------------------------------------------------------------------------------


def test_my_learning_lists_my_assignments_overdue_first(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    first = builders.make_course(tenant, title="Later")
    second = builders.make_course(tenant, title="Late")
    enrol(tenant, learner, first.course, due_at=NOW + dt.timedelta(days=3))
    late = enrol(tenant, learner, second.course, due_at=NOW + dt.timedelta(days=1))
    Enrollment.objects.filter(pk=late.pk).update(due_at=NOW - dt.timedelta(days=1))
    body = client_for(learner).get("/api/v1/me/learning").json()
    assert [(i["course"]["title"], i["is_overdue"]) for i in body] == [
        ("Late", True),
        ("Later", False),
    ]
    assert body[0]["next_activity"] == {
        "id": second.pages[0].pk,
        "title": "Page 1",
        "kind": "page",
    }
    assert body[0]["enrollment_id"] == late.pk


def test_self_enrolment_through_the_api(tenant, learner, kit) -> None:  # type: ignore[no-untyped-def]
    client = client_for(learner)
    response = post(client, "/api/v1/me/enrollments", {"course_id": kit.course.pk})
    assert response.status_code == 201
    assert (response.json()["source"], response.json()["person"]["id"]) == ("self", learner.pk)
    again = post(client, "/api/v1/me/enrollments", {"course_id": kit.course.pk})
    assert again.json()["id"] == response.json()["id"]
    closed = builders.make_course(tenant, title="Closed", is_open=False).course
    refused = post(client, "/api/v1/me/enrollments", {"course_id": closed.pk})
    assert refused.status_code == 400
    assert "not open for self-enrolment" in refused.json()["detail"]


def test_self_enrolling_in_another_tenants_course_is_404(tenant, other_tenant, learner) -> None:  # type: ignore[no-untyped-def]
    foreign = builders.make_course(other_tenant, slug="foreign").course
    response = post(client_for(learner), "/api/v1/me/enrollments", {"course_id": foreign.pk})
    assert response.status_code == 404
