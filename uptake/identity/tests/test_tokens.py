from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tests.factories import PersonFactory
from uptake.identity.models import ApiToken
from uptake.identity.tokens import hash_token

pytestmark = pytest.mark.django_db


def test_create_token_command_prints_a_token_that_is_stored_only_as_a_hash(tenant, capsys):
    person = PersonFactory(tenant=tenant)
    call_command("create_token", person.user.username)
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("upt_")
    token = ApiToken.objects.get(user=person.user)
    assert token.key_hash == hash_token(raw)
    assert raw not in (token.prefix + token.name + token.key_hash)


def test_create_token_for_unknown_user_is_a_clear_error(tenant):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user called 'ghost'"):
        call_command("create_token", "ghost")


def test_api_rejects_missing_and_wrong_tokens_with_problem_json(client, tenant):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer upt_wrong"}):
        response = client.get("/api/v1/me/learning", **headers)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        body = json.loads(response.content)
        assert body["status"] == 401
        assert body["title"] == "Authentication required"


def test_revoked_token_no_longer_authenticates(client, tenant, capsys):
    person = PersonFactory(tenant=tenant)
    call_command("create_token", person.user.username)
    raw = capsys.readouterr().out.strip()
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    response = client.get("/api/v1/me/learning", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401


def test_healthz_reports_database_and_task_queue(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["tasks"]["ok"] is True
