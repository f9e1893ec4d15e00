"""xAPI credentials: created by admins (API and command), secret shown once, hashed at rest."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.factories import PersonFactory, grant
from uptake.core.actor import Actor
from uptake.identity.services import create_token
from uptake.people import rules as roles
from uptake.xapi.models import Credential
from uptake.xapi.services import hash_secret
from uptake.xapi.tests.conftest import XapiClient

pytestmark = pytest.mark.django_db


def _bearer(person):
    _, raw = create_token(actor=Actor.system(), user=person.user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_an_admin_creates_a_credential_that_works_once_and_is_stored_hashed(client, tenant):
    admin = grant(PersonFactory(tenant=tenant), roles.PLATFORM_ADMIN)
    response = client.post(
        "/api/v1/xapi/credentials",
        {"name": "Storyline course", "can_write": True},
        content_type="application/json",
        **_bearer(admin),
    )
    assert response.status_code == 201
    body = response.json()
    credential = Credential.objects.get(pk=body["credential"]["id"])
    assert credential.secret_hash == hash_secret(body["secret"])
    assert body["secret"] not in credential.secret_hash
    lrs = XapiClient(body["credential"]["key"], body["secret"])
    assert lrs.get("statements").status_code == 200
    listed = client.get("/api/v1/xapi/credentials", **_bearer(admin)).json()
    assert "secret" not in listed[0]
    revoked = client.post(f"/api/v1/xapi/credentials/{credential.pk}/revoke", **_bearer(admin))
    assert revoked.status_code == 200
    assert lrs.get("statements").status_code == 401


def test_learners_cannot_manage_credentials(client, tenant):
    learner = PersonFactory(tenant=tenant)
    response = client.get("/api/v1/xapi/credentials", **_bearer(learner))
    assert response.status_code == 403


def test_the_command_prints_a_key_and_secret(tenant):
    out = io.StringIO()
    call_command("create_xapi_credential", tenant.slug, "Cmd client", "--read-only", stdout=out)
    key, secret = out.getvalue().split()
    credential = Credential.objects.get(key=key)
    assert credential.can_read and not credential.can_write
    assert credential.secret_hash == hash_secret(secret)
