"""The audiences API: roles, tenancy (404 across tenants), problem+json with the place of a bad rule."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import PersonFactory
from uptake.audiences import services
from uptake.core.actor import Actor
from uptake.identity.services import create_token

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def _auth(person) -> dict[str, str]:
    _, raw = create_token(actor=Actor.system(), user=person.user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post(client, url, body, person):
    return client.post(url, body, content_type="application/json", **_auth(person))


def test_an_admin_creates_an_audience_from_text_and_reads_its_members(client, tenant, admin):
    seller = PersonFactory(tenant=tenant, department="Sales", first_name="Sue", last_name="Seller")
    response = _post(
        client, "/api/v1/audiences", {"name": "Sales", "rule_text": 'department = "Sales"'}, admin
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["rule"], body["version"], body["member_count"]) == (
        "Sales",
        {"attr": "department", "op": "eq", "value": "Sales"},
        1,
        1,
    )
    members = client.get(f"/api/v1/audiences/{body['id']}/members", **_auth(admin)).json()
    assert members["total"] == 1
    assert members["items"][0]["person"]["id"] == seller.pk
    assert members["items"][0]["rule_version"] == 1


def test_a_rule_may_be_sent_as_json(client, tenant, admin):
    rule = {
        "any": [
            {"attr": "location", "op": "in", "value": ["London", "Paris"]},
            {"attr": "role", "op": "eq", "value": "manager"},
        ]
    }
    response = _post(client, "/api/v1/audiences", {"name": "Europe", "rule": rule}, admin)
    assert response.status_code == 201
    assert response.json()["rule_text"] == 'location in ("London", "Paris") or role = "manager"'


def test_a_bad_rule_answers_problem_json_with_the_exact_place(client, tenant, admin):
    response = _post(
        client,
        "/api/v1/audiences",
        {"name": "X", "rule_text": 'department = "Sales" and departmnt = "x"'},
        admin,
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {
            "field": "rule",
            "message": "line 1, column 26: unknown attribute 'departmnt' (did you mean 'department'?)",
        }
    ]
    response = _post(
        client,
        "/api/v1/audiences/preview",
        {"rule": {"attr": "tenure_days", "op": "contains", "value": "3"}},
        admin,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(
        "rule: wrong type for operator 'contains': tenure_days is a number"
    )


def test_preview_counts_samples_and_diffs_against_an_audience(client, tenant, admin):
    PersonFactory.create_batch(3, tenant=tenant, department="Sales", location="London")
    paris = PersonFactory(tenant=tenant, department="Sales", location="Paris")
    londoner = PersonFactory(tenant=tenant, department="Ops", location="London")
    audience = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Sales", rule_text='department = "Sales"'
    )
    response = _post(
        client,
        "/api/v1/audiences/preview",
        {"rule_text": 'location = "London"', "audience_id": audience.pk},
        admin,
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["count"], body["will_join"], body["will_leave"]) == (5, 2, 1)  # + admin & londoner
    assert {p["id"] for p in body["will_leave_sample"]} == {paris.pk}
    assert londoner.pk in {p["id"] for p in body["will_join_sample"]}


def test_update_makes_a_new_version_and_delete_deactivates(client, tenant, admin):
    audience = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="A", rule_text="everyone"
    )
    response = client.patch(
        f"/api/v1/audiences/{audience.pk}",
        {"rule_text": "nobody"},
        content_type="application/json",
        **_auth(admin),
    )
    assert (response.status_code, response.json()["version"], response.json()["member_count"]) == (
        200,
        2,
        0,
    )
    assert client.delete(f"/api/v1/audiences/{audience.pk}", **_auth(admin)).status_code == 204
    assert (
        client.get(f"/api/v1/audiences/{audience.pk}", **_auth(admin)).json()["is_active"] is False
    )
    assert client.get("/api/v1/audiences", **_auth(admin)).json() == []


def test_data_stewards_read_but_do_not_write_and_learners_do_neither(client, tenant, steward):
    learner = PersonFactory(tenant=tenant)
    audience = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="A", rule_text="everyone"
    )
    assert client.get("/api/v1/audiences", **_auth(steward)).status_code == 200
    assert (
        _post(client, "/api/v1/audiences/preview", {"rule_text": "everyone"}, steward).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/audiences/explain/{learner.pk}", **_auth(steward)).status_code == 200
    )
    assert (
        _post(
            client, "/api/v1/audiences", {"name": "B", "rule_text": "everyone"}, steward
        ).status_code
        == 403
    )
    assert client.delete(f"/api/v1/audiences/{audience.pk}", **_auth(steward)).status_code == 403
    assert client.get("/api/v1/audiences", **_auth(learner)).status_code == 403


def test_another_tenants_audiences_and_people_are_404(client, tenant, other_tenant, admin):
    theirs = services.create_audience(
        actor=ACTOR, tenant_id=other_tenant.pk, name="Theirs", rule_text="everyone"
    )
    stranger = PersonFactory(tenant=other_tenant)
    headers = _auth(admin)
    assert client.get(f"/api/v1/audiences/{theirs.pk}", **headers).status_code == 404
    assert client.get(f"/api/v1/audiences/{theirs.pk}/members", **headers).status_code == 404
    assert (
        client.patch(
            f"/api/v1/audiences/{theirs.pk}",
            {"name": "Mine"},
            content_type="application/json",
            **headers,
        ).status_code
        == 404
    )
    assert client.delete(f"/api/v1/audiences/{theirs.pk}", **headers).status_code == 404
    assert (
        _post(
            client,
            "/api/v1/audiences/preview",
            {"rule_text": "everyone", "audience_id": theirs.pk},
            admin,
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/audiences/explain/{stranger.pk}", **headers).status_code == 404
    assert client.get("/api/v1/audiences", **headers).json() == []


def test_explain_says_which_clauses_held(client, tenant, admin):
    person = PersonFactory(
        tenant=tenant, department="Sales", hire_date=dt.date.today() - dt.timedelta(days=5)
    )
    services.create_audience(
        actor=ACTOR,
        tenant_id=tenant.pk,
        name="New sales",
        rule_text='department = "Sales" and tenure_days <= 30',
    )
    services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Ops", rule_text='department = "Ops"'
    )
    body = client.get(f"/api/v1/audiences/explain/{person.pk}", **_auth(admin)).json()
    first, second = body["audiences"]
    assert (first["name"], first["is_member"], first["why"]["kind"], first["why"]["result"]) == (
        "New sales",
        True,
        "all",
        True,
    )
    assert [(c["text"], c["result"]) for c in first["why"]["children"]] == [
        ('department = "Sales"', True),
        ("tenure_days <= 30", True),
    ]
    assert (second["name"], second["is_member"], second["why"]["result"]) == ("Ops", False, False)
    assert [(h["audience_name"], h["change"], h["reason"]) for h in body["history"]] == [
        ("New sales", "joined", "created")
    ]


def test_listing_pins_its_query_count(client, tenant, admin, django_assert_max_num_queries):
    for i in range(10):
        services.create_audience(
            actor=ACTOR, tenant_id=tenant.pk, name=f"A{i}", rule_text="everyone"
        )
    headers = _auth(admin)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/audiences", **headers)
    assert [a["member_count"] for a in response.json()] == [1] * 10
