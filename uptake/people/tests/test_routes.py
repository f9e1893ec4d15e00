"""The people API: roles, tenancy (404 across tenants), problem+json for bad input."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import PersonFactory, grant
from uptake.core.actor import Actor
from uptake.identity.services import create_token
from uptake.people import rules
from uptake.people.models import Person

pytestmark = pytest.mark.django_db


def _auth(person) -> dict[str, str]:
    _, raw = create_token(actor=Actor.system(), user=person.user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def admin(tenant):
    return grant(PersonFactory(tenant=tenant, last_name="Admin"), rules.PLATFORM_ADMIN)


def test_admin_lists_people_with_filters_and_pagination(client, tenant, admin, other_tenant):
    PersonFactory.create_batch(3, tenant=tenant, department="Ops")
    PersonFactory(tenant=other_tenant, department="Ops")
    response = client.get("/api/v1/people?department=Ops&limit=2&offset=0", **_auth(admin))
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (3, 2, 0, 2)
    assert {item["department"] for item in body["items"]} == {"Ops"}


def test_listing_pins_its_query_count(client, tenant, admin, django_assert_max_num_queries):
    boss = PersonFactory(tenant=tenant)
    PersonFactory.create_batch(20, tenant=tenant, manager=boss)
    headers = _auth(admin)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/people?limit=50", **headers)
    assert response.json()["total"] == 22


def test_a_learner_cannot_list_people(client, tenant):
    learner = PersonFactory(tenant=tenant)
    response = client.get("/api/v1/people", **_auth(learner))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_a_manager_lists_their_team(client, tenant):
    boss = PersonFactory(tenant=tenant)
    report = PersonFactory(tenant=tenant, manager=boss)
    indirect = PersonFactory(tenant=tenant, manager=report)
    PersonFactory(tenant=tenant)
    response = client.get("/api/v1/people?team=1", **_auth(boss))
    assert response.status_code == 200
    assert {item["id"] for item in response.json()["items"]} == {report.pk, indirect.pk}


def test_read_a_person_in_the_tenant_but_not_in_another(client, tenant, admin, other_tenant):
    person = PersonFactory(tenant=tenant, custom={"shift": "night"})
    grant(person, rules.DATA_STEWARD)
    stranger = PersonFactory(tenant=other_tenant)
    response = client.get(f"/api/v1/people/{person.pk}", **_auth(admin))
    assert response.status_code == 200
    assert response.json()["roles"] == [rules.DATA_STEWARD]
    assert response.json()["custom"] == {"shift": "night"}
    assert client.get(f"/api/v1/people/{stranger.pk}", **_auth(admin)).status_code == 404


def test_anyone_reads_themselves_but_not_a_colleague(client, tenant):
    me = PersonFactory(tenant=tenant)
    colleague = PersonFactory(tenant=tenant)
    assert client.get(f"/api/v1/people/{me.pk}", **_auth(me)).status_code == 200
    assert client.get(f"/api/v1/people/{colleague.pk}", **_auth(me)).status_code == 403


def test_admin_creates_a_person(client, tenant, admin):
    response = client.post(
        "/api/v1/people",
        data=json.dumps(
            {
                "employee_id": "N1",
                "email": "n1@example.com",
                "first_name": "New",
                "last_name": "Hire",
                "manager_id": admin.pk,
                "hire_date": "2025-01-06",
            }
        ),
        content_type="application/json",
        **_auth(admin),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["employee_id"], body["manager_employee_id"], body["hire_date"]) == (
        "N1",
        admin.employee_id,
        "2025-01-06",
    )


def test_bad_attributes_answer_problem_json_with_each_field(client, tenant, admin):
    response = client.post(
        "/api/v1/people",
        data=json.dumps({"employee_id": "N1", "email": "nope", "last_name": "X", "country": "FRA"}),
        content_type="application/json",
        **_auth(admin),
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"].endswith("/validation-failed")
    assert body["errors"] == [
        {"field": "email", "message": "'nope' is not a valid email address"},
        {
            "field": "country",
            "message": "'FRA' is not a 2-letter ISO 3166 country code (e.g. GB, FR)",
        },
    ]


def test_only_admins_write(client, tenant):
    steward = grant(PersonFactory(tenant=tenant), rules.DATA_STEWARD)
    response = client.patch(
        f"/api/v1/people/{steward.pk}",
        data=json.dumps({"department": "X"}),
        content_type="application/json",
        **_auth(steward),
    )
    assert response.status_code == 403


def test_admin_patches_only_what_is_sent(client, tenant, admin):
    person = PersonFactory(tenant=tenant, department="Sales", location="Paris", manager=admin)
    response = client.patch(
        f"/api/v1/people/{person.pk}",
        data=json.dumps({"department": "Ops", "manager_id": None}),
        content_type="application/json",
        **_auth(admin),
    )
    assert response.status_code == 200
    person.refresh_from_db()
    assert (person.department, person.location, person.manager_id) == ("Ops", "Paris", None)


def test_patching_another_tenants_person_is_not_found_and_changes_nothing(
    client, tenant, admin, other_tenant
):
    stranger = PersonFactory(tenant=other_tenant, department="Secret")
    response = client.patch(
        f"/api/v1/people/{stranger.pk}",
        data=json.dumps({"department": "Mine"}),
        content_type="application/json",
        **_auth(admin),
    )
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.department == "Secret"


CSV = (
    "employee_id,email,last_name,manager_employee_id\n"
    "E1,e1@example.com,One,\n"
    "E2,e2@example.com,Two,E1\n"
)


def test_import_as_a_text_csv_body_with_dry_run(client, tenant, admin):
    response = client.generic(
        "POST", "/api/v1/people/import?dry_run=true", CSV, content_type="text/csv", **_auth(admin)
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["dry_run"], body["created"], body["created_ids"]) == (True, 2, ["E1", "E2"])
    assert not Person.objects.filter(tenant=tenant, employee_id="E1").exists()


def test_import_as_a_multipart_file(client, tenant, admin):
    upload = SimpleUploadedFile("hr.csv", CSV.encode(), content_type="text/csv")
    response = client.post("/api/v1/people/import", {"file": upload}, **_auth(admin))
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    assert Person.objects.get(tenant=tenant, employee_id="E2").manager.employee_id == "E1"


def test_a_bad_file_answers_problem_json_with_rows_and_changes_nothing(client, tenant, admin):
    bad = "employee_id,email,last_name\nE1,e1@example.com,One\nE2,broken,Two\n"
    response = client.generic(
        "POST", "/api/v1/people/import", bad, content_type="text/csv", **_auth(admin)
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://uptake.invalid/problems/validation-failed",
        "title": "Some input is not valid",
        "status": 400,
        "detail": "The file has 1 problem; nothing was changed.",
        "instance": "/api/v1/people/import",
        "errors": [
            {"message": "'broken' is not a valid email address", "field": "email", "row": 3}
        ],
    }
    assert not Person.objects.filter(tenant=tenant, employee_id="E1").exists()


def test_import_is_for_admins_only(client, tenant):
    steward = grant(PersonFactory(tenant=tenant), rules.DATA_STEWARD)
    response = client.generic(
        "POST", "/api/v1/people/import", CSV, content_type="text/csv", **_auth(steward)
    )
    assert response.status_code == 403


def test_import_writes_into_the_admins_tenant_only(client, tenant, admin, other_tenant):
    PersonFactory(tenant=other_tenant, employee_id="E1", department="Secret")
    response = client.generic(
        "POST", "/api/v1/people/import", CSV, content_type="text/csv", **_auth(admin)
    )
    assert response.status_code == 200
    assert Person.objects.get(tenant=other_tenant, employee_id="E1").department == "Secret"
    assert Person.objects.filter(tenant=tenant, employee_id__in=["E1", "E2"]).count() == 2
