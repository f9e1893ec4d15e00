"""The /xapi/ resources over HTTP: statuses, headers, filters, paging, documents, tenancy."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from uptake.xapi.tests.conftest import XapiClient, make_client, statement

pytestmark = pytest.mark.django_db


def test_about_needs_no_credentials_and_lists_the_versions(client):
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert "1.0.3" in response.json()["version"]
    assert response["X-Experience-API-Version"] == "1.0.3"


def test_requests_without_credentials_or_with_a_wrong_secret_are_refused(lrs, tenant):
    anonymous = XapiClient("nobody", "nothing")
    anonymous.headers.pop("HTTP_AUTHORIZATION")
    assert anonymous.get("statements").status_code == 401
    wrong = XapiClient(lrs.headers["HTTP_AUTHORIZATION"], "wrong")
    response = wrong.get("statements")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_the_version_header_is_required_and_must_be_1_0_x_or_2_0_x(tenant):
    client = make_client(tenant)
    client.headers.pop("HTTP_X_EXPERIENCE_API_VERSION")
    assert client.get("statements").status_code == 400
    assert client.get("statements", **{"X-Experience-API-Version": "3.0.0"}).status_code == 400
    assert client.get("statements", **{"X-Experience-API-Version": "2.0.0"}).status_code == 200


def test_post_then_get_a_statement_by_id(lrs):
    response = lrs.post("statements", statement())
    assert response.status_code == 200
    [sid] = response.json()
    got = lrs.get("statements", {"statementId": sid})
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == sid
    assert body["verb"]["id"] == "http://adlnet.gov/expapi/verbs/experienced"
    assert body["stored"].endswith("Z")
    assert body["authority"]["objectType"] == "Agent"
    assert body["version"] == "1.0.0"
    assert "X-Experience-API-Consistent-Through" in got


def test_an_invalid_statement_answers_400_and_stores_nothing(lrs):
    response = lrs.post("statements", [statement(1), statement(2, verb={"id": "nope"})])
    assert response.status_code == 400
    assert "verb.id" in response.json()["error"]["message"]
    assert lrs.get("statements").json()["statements"] == []


def test_put_with_the_same_id_and_content_is_accepted_and_different_content_conflicts(lrs):
    sid = str(uuid.uuid4())
    assert lrs.put(f"statements?statementId={sid}", statement()).status_code == 204
    assert lrs.put(f"statements?statementId={sid}", statement()).status_code == 204
    assert lrs.post("statements", {**statement(), "id": sid}).status_code == 200
    changed = statement(result={"success": True})
    assert lrs.put(f"statements?statementId={sid}", changed).status_code == 409
    assert len(lrs.get("statements").json()["statements"]) == 1


def test_voiding_hides_the_statement_except_through_voided_statement_id(lrs):
    [sid] = lrs.post("statements", statement()).json()
    voiding = statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": sid},
    )
    assert lrs.post("statements", voiding).status_code == 200
    assert lrs.get("statements", {"statementId": sid}).status_code == 404
    assert lrs.get("statements", {"voidedStatementId": sid}).status_code == 200
    listed = [s["id"] for s in lrs.get("statements").json()["statements"]]
    assert sid not in listed and len(listed) == 1


def test_filters_by_agent_verb_activity_and_registration(lrs):
    registration = str(uuid.uuid4())
    lrs.post(
        "statements",
        [
            statement(1),
            statement(2, context={"registration": registration}),
            statement(3, verb={"id": "http://adlnet.gov/expapi/verbs/completed"}),
        ],
    )

    def ids(**params):
        return [s["actor"]["mbox"] for s in lrs.get("statements", params).json()["statements"]]

    assert ids(agent=json.dumps({"mbox": "mailto:learner1@example.com"})) == [
        "mailto:learner1@example.com"
    ]
    assert ids(verb="http://adlnet.gov/expapi/verbs/completed") == ["mailto:learner3@example.com"]
    assert ids(activity="http://example.com/activities/2") == ["mailto:learner2@example.com"]
    assert ids(registration=registration) == ["mailto:learner2@example.com"]
    assert ids(verb="http://example.com/never-used") == []


def test_paging_with_more_links_walks_every_statement_once(lrs):
    lrs.post("statements", [statement(n) for n in range(7)])
    seen = []
    page = lrs.get("statements", {"limit": 3}).json()
    while True:
        seen += [s["id"] for s in page["statements"]]
        if not page["more"]:
            break
        page = lrs.client.get(page["more"], **lrs.headers).json()
    assert len(seen) == 7 == len(set(seen))


def test_ascending_returns_oldest_first(lrs):
    first = lrs.post("statements", statement(1)).json()[0]
    lrs.post("statements", statement(2))
    result = lrs.get("statements", {"ascending": "true"}).json()["statements"]
    assert result[0]["id"] == first


def test_attachments_round_trip_in_multipart_mixed(lrs):
    content = b"hello attachment"
    sha2 = hashlib.sha256(content).hexdigest()
    st = statement(
        attachments=[
            {
                "usageType": "http://example.com/usage",
                "display": {"en-US": "note"},
                "contentType": "text/plain",
                "length": len(content),
                "sha2": sha2,
            }
        ]
    )
    body = (
        b"--b\r\nContent-Type: application/json\r\n\r\n"
        + json.dumps(st).encode()
        + b"\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
        + f"X-Experience-API-Hash: {sha2}\r\n\r\n".encode()
        + content
        + b"\r\n--b--"
    )
    response = lrs.post("statements", body, content_type='multipart/mixed; boundary="b"')
    assert response.status_code == 200, response.content
    got = lrs.get("statements", {"attachments": "true"})
    assert got["Content-Type"].startswith("multipart/mixed")
    assert content in got.content


def test_a_statement_whose_attachment_is_missing_is_refused(lrs):
    st = statement(
        attachments=[
            {
                "usageType": "http://example.com/usage",
                "display": {"en-US": "note"},
                "contentType": "text/plain",
                "length": 1,
                "sha2": "ab" * 32,
            }
        ]
    )
    assert lrs.post("statements", st).status_code == 400


def test_state_documents_put_get_merge_and_delete(lrs):
    params = "activityId=http%3A%2F%2Fexample.com%2Fa&stateId=s1&agent=" + json.dumps(
        {"mbox": "mailto:a@example.com"}
    )
    assert lrs.put(f"activities/state?{params}", {"a": 1}).status_code == 204
    assert lrs.post(f"activities/state?{params}", {"b": 2}).status_code == 204
    got = lrs.get(f"activities/state?{params}")
    assert got.json() == {"a": 1, "b": 2}
    assert got["ETag"] == '"' + hashlib.sha1(got.content).hexdigest() + '"'
    assert lrs.delete(f"activities/state?{params}").status_code == 204
    assert lrs.get(f"activities/state?{params}").status_code == 404


def test_profiles_need_preconditions_to_be_replaced(lrs):
    path = "activities/profile?activityId=http%3A%2F%2Fexample.com%2Fa&profileId=p"
    assert lrs.put(path, {"v": 1}).status_code == 400
    assert lrs.put(path, {"v": 1}, **{"If-None-Match": "*"}).status_code == 204
    assert lrs.put(path, {"v": 2}).status_code == 409
    assert lrs.put(path, {"v": 2}, **{"If-Match": '"0000"'}).status_code == 412
    etag = lrs.get(path)["ETag"]
    assert lrs.put(path, {"v": 2}, **{"If-Match": etag}).status_code == 204
    assert lrs.get(path).json() == {"v": 2}


def test_read_only_credentials_cannot_write(tenant):
    reader = make_client(tenant, can_write=False)
    assert reader.post("statements", statement()).status_code == 403
    assert reader.get("statements").status_code == 200


def test_one_tenant_never_sees_another_tenants_statements_or_documents(lrs, other_lrs):
    [sid] = lrs.post("statements", statement()).json()
    state = (
        "activities/state?activityId=http%3A%2F%2Fexample.com%2Fa&stateId=s&agent="
        + json.dumps({"mbox": "mailto:a@example.com"})
    )
    lrs.put(state, {"secret": True})
    assert other_lrs.get("statements", {"statementId": sid}).status_code == 404
    assert other_lrs.get("statements").json()["statements"] == []
    assert other_lrs.get(state).status_code == 404
    assert (
        "definition"
        not in other_lrs.get("activities", {"activityId": "http://example.com/activities/0"}).json()
    )
    # The same id in the other tenant is a different statement, not a conflict.
    assert other_lrs.put(f"statements?statementId={sid}", statement(5)).status_code == 204
    assert (
        lrs.get("statements", {"statementId": sid})
        .json()["actor"]["mbox"]
        .endswith("learner0@example.com")
    )


def test_alternate_request_syntax_carries_headers_and_content_in_the_form(lrs):
    import urllib.parse

    sid = str(uuid.uuid4())
    form = urllib.parse.urlencode(
        {
            "statementId": sid,
            "content": json.dumps(statement()),
            "Authorization": lrs.headers["HTTP_AUTHORIZATION"],
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
        }
    )
    response = lrs.client.post(
        "/xapi/statements?method=PUT", form, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 204
    assert lrs.get("statements", {"statementId": sid}).status_code == 200


def test_a_body_over_the_upload_limit_answers_413(lrs, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = lrs.post("statements", [statement(n) for n in range(10)])
    assert response.status_code == 413
    assert "smaller batches" in response.json()["error"]["message"]


def test_head_answers_like_get_without_a_body(lrs):
    lrs.post("statements", statement())
    response = lrs.client.head("/xapi/statements", **lrs.headers)
    assert response.status_code == 200
    assert response.content == b""


def test_a_later_definition_of_an_activity_is_merged_into_the_canonical_one(lrs):
    activity = "http://example.com/activities/merged"
    first = statement(object={"id": activity, "definition": {"name": {"en-US": "One"}}})
    later = statement(
        object={
            "id": activity,
            "definition": {"name": {"fr": "Un"}, "description": {"en-US": "The first"}},
        }
    )
    assert lrs.post("statements", first).status_code == 200
    assert lrs.post("statements", later).status_code == 200
    definition = lrs.get("activities", {"activityId": activity}).json()["definition"]
    assert definition == {
        "name": {"en-US": "One", "fr": "Un"},
        "description": {"en-US": "The first"},
    }
