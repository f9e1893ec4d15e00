"""xAPI 2.0 over HTTP: version negotiation, and statements and documents read and written
across versions (a 2.0 statement read by a 1.0.3 client and the reverse)."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

import pytest
from django.test import Client

from uptake.core.actor import Actor
from uptake.xapi import services
from uptake.xapi.tests.conftest import XapiClient, statement

pytestmark = pytest.mark.django_db

PLAYER = {"objectType": "Agent", "mbox": "mailto:player-1@example.com"}
CONTEXT_AGENTS = [
    {
        "objectType": "contextAgent",
        "agent": PLAYER,
        "relevantTypes": ["https://example.com/types/player"],
    }
]
CONTEXT_GROUPS = [
    {
        "objectType": "contextGroup",
        "group": {"objectType": "Group", "mbox": "mailto:team-1@example.com", "member": [PLAYER]},
    }
]


@pytest.fixture
def clients(tenant: Any) -> tuple[XapiClient, XapiClient]:
    """(a 1.0.3 client, a 2.0.0 client) with one credential of one tenant."""
    credential, secret = services.create_credential(
        actor=Actor.system("test"), tenant_id=tenant.pk, name="both versions"
    )
    return XapiClient(credential.key, secret), XapiClient(credential.key, secret, "2.0.0")


def test_about_lists_2_0_0_and_1_0_3(client: Client) -> None:
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert {"2.0.0", "1.0.3"} <= set(response.json()["version"])
    assert response["X-Experience-API-Version"] == "1.0.3"
    response = client.get("/xapi/about", HTTP_X_EXPERIENCE_API_VERSION="2.0.0")
    assert response["X-Experience-API-Version"] == "2.0.0"


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        ("1.0.3", "1.0.3"),
        ("1.0.1", "1.0.3"),
        ("1.0", "1.0.3"),
        ("2.0.0", "2.0.0"),
        ("2.0.1", "2.0.0"),
    ],
)
def test_responses_carry_the_version_of_the_request(clients, sent, answered) -> None:
    v1, _v2 = clients
    response = v1.get("statements", **{"X-Experience-API-Version": sent})
    assert response.status_code == 200
    assert response["X-Experience-API-Version"] == answered


def test_errors_of_a_2_0_request_carry_2_0_0(clients) -> None:
    _v1, v2 = clients
    response = v2.post("statements", statement(verb={"id": "nope"}))
    assert response.status_code == 400
    assert response["X-Experience-API-Version"] == "2.0.0"
    refused = v2.get("statements", **{"X-Experience-API-Version": "2.1.0"})
    assert refused.status_code == 400
    assert "2.0.x" in refused.json()["error"]["message"]


def test_a_request_without_a_version_is_answered_in_the_default_version(clients, settings) -> None:
    v1, _v2 = clients
    v1.headers.pop("HTTP_X_EXPERIENCE_API_VERSION")
    response = v1.get("statements")
    assert response.status_code == 400
    assert response["X-Experience-API-Version"] == "1.0.3"
    settings.UPTAKE_XAPI_DEFAULT_VERSION = "2.0.0"
    response = v1.get("statements")
    assert response.status_code == 400
    assert response["X-Experience-API-Version"] == "2.0.0"


def test_a_2_0_statement_read_by_2_0_and_by_1_0_3_clients(clients) -> None:
    v1, v2 = clients
    st = statement(
        context={"contextAgents": CONTEXT_AGENTS, "contextGroups": CONTEXT_GROUPS},
        timestamp="2023-05-04T12:00:00.250-05:00",
    )
    response = v2.post("statements", st)
    assert response.status_code == 200, response.content
    [sid] = response.json()

    got = v2.get("statements", {"statementId": sid}).json()
    assert got["context"]["contextAgents"] == CONTEXT_AGENTS
    assert got["context"]["contextGroups"] == CONTEXT_GROUPS
    assert got["version"] == "2.0.0"
    assert got["timestamp"] == "2023-05-04T12:00:00.250-05:00"  # the offset is kept

    old = v1.get("statements", {"statementId": sid})
    assert old.status_code == 200
    assert old["X-Experience-API-Version"] == "1.0.3"
    body = old.json()
    assert "context" not in body  # nothing but the 2.0-only properties was in it
    assert body["version"] == "2.0.0"  # the version it was accepted with
    assert body["timestamp"] == "2023-05-04T12:00:00.250-05:00"
    listed = v1.get("statements").json()["statements"]
    assert [s["id"] for s in listed] == [sid]
    assert "context" not in listed[0]


def test_a_1_0_3_statement_read_by_a_2_0_client(clients) -> None:
    v1, v2 = clients
    [sid] = v1.post("statements", statement(timestamp="2023-05-04T17:00:00")).json()
    got = v2.get("statements", {"statementId": sid})
    assert got.status_code == 200
    assert got["X-Experience-API-Version"] == "2.0.0"
    body = got.json()
    assert body["version"] == "1.0.0"  # stored without one through 1.0.3
    assert body["timestamp"] == "2023-05-04T17:00:00"


def test_2_0_only_properties_are_refused_through_1_0_3(clients) -> None:
    v1, v2 = clients
    st = statement(context={"contextAgents": CONTEXT_AGENTS})
    assert v1.post("statements", st).status_code == 400
    assert v1.post("statements", statement(version="2.0.0")).status_code == 400
    assert v2.post("statements", statement(version="2.0.0")).status_code == 200


def test_a_timestamp_needs_an_offset_under_2_0_only(clients) -> None:
    v1, v2 = clients
    naive = statement(timestamp="2023-05-04T17:00:00.000")
    response = v2.post("statements", naive)
    assert response.status_code == 400
    assert "offset" in response.json()["error"]["message"]
    assert v1.post("statements", naive).status_code == 200


def test_invalid_context_agents_are_refused_with_400(clients) -> None:
    _v1, v2 = clients
    bad = [{"objectType": "contextAgent", "agent": PLAYER, "relevantTypes": []}]
    response = v2.post("statements", statement(context={"contextAgents": bad}))
    assert response.status_code == 400
    assert "relevantTypes" in response.json()["error"]["message"]
    assert v2.get("statements").json()["statements"] == []


def test_format_ids_and_related_agents_under_2_0(clients) -> None:
    v1, v2 = clients
    named = [{**CONTEXT_AGENTS[0], "agent": {**PLAYER, "name": "Player One"}}]
    [sid] = v2.post("statements", statement(context={"contextAgents": named})).json()
    ids = v2.get("statements", {"statementId": sid, "format": "ids"}).json()
    assert ids["context"]["contextAgents"][0]["agent"] == PLAYER
    query = {"agent": json.dumps(PLAYER), "related_agents": "true"}
    assert [s["id"] for s in v2.get("statements", query).json()["statements"]] == [sid]
    assert v1.get("statements", query).json()["statements"] == []


def test_the_same_id_with_a_duration_differing_below_hundredths_is_the_same_statement(
    clients,
) -> None:
    _v1, v2 = clients
    sid = str(uuid.uuid4())
    first = statement(result={"duration": "PT1.12S"})
    assert v2.put(f"statements?statementId={sid}", first).status_code == 204
    again = statement(result={"duration": "PT1.1299S"})
    assert v2.put(f"statements?statementId={sid}", again).status_code == 204
    other = statement(result={"duration": "PT1.13S"})
    assert v2.put(f"statements?statementId={sid}", other).status_code == 409


def _state_path() -> str:
    agent = json.dumps(PLAYER)
    return (
        "activities/state?activityId=http://example.com/a&stateId=s1"
        f"&agent={agent.replace(' ', '%20')}"
    )


def test_2_0_state_put_without_preconditions_does_not_replace(clients) -> None:
    v1, v2 = clients
    path = _state_path()
    assert v2.put(path, {"n": 1}).status_code == 204  # creating needs no header
    response = v2.put(path, {"n": 2})
    assert response.status_code == 409
    assert "If-Match" in response.json()["error"]["message"]
    got = v2.get(path)
    assert got.json() == {"n": 1}
    assert got["Last-Modified"]
    etag = got["ETag"]
    assert v2.put(path, {"n": 3}, **{"If-Match": etag}).status_code == 204
    assert v2.post(path, {"m": 1}).status_code == 204  # merging is allowed without
    assert v2.get(path).json() == {"n": 3, "m": 1}
    assert v1.put(path, {"n": 4}).status_code == 204  # 1.0.3 keeps its rule


def test_the_alternate_request_syntax_is_refused_under_2_0(clients, tenant) -> None:
    v1, v2 = clients
    form = urllib.parse.urlencode({"content": json.dumps(statement())})
    for client, expected in ((v2, 400), (v1, 200)):
        response = client.client.post(
            "/xapi/statements?method=POST",
            form,
            content_type="application/x-www-form-urlencoded",
            **client.headers,
        )
        assert response.status_code == expected, response.content
    response = v2.client.post(
        "/xapi/statements?method=GET",
        "",
        content_type="application/x-www-form-urlencoded",
        **v2.headers,
    )
    assert "alternate request syntax" in response.json()["error"]["message"]
