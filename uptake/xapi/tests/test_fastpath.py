"""The short WSGI road for /xapi/ and the per-process credential cache (ADR 0018)."""

from __future__ import annotations

import base64
import io
import json
import sys
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone, translation

from uptake.core.actor import Actor
from uptake.xapi import services, wire
from uptake.xapi.fastpath import XapiHandler, with_xapi_fast_path
from uptake.xapi.models import Credential
from uptake.xapi.tests.conftest import XapiClient

pytestmark = pytest.mark.django_db


def _environ(path: str, token: str, body: bytes = b"", method: str = "GET", **extra: str) -> Any:
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Basic {token}",
        "HTTP_X_EXPERIENCE_API_VERSION": "1.0.3",
    }
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Any:
    """The handler closes old database connections when a request starts and finishes, as in
    production; Django's test client turns that off because the test's transaction lives on
    the connection (PostgreSQL would lose it). Called directly here, so the same is done."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: list[Any] = []
    body = b"".join(app(environ, lambda status, headers, *a: seen.append((status, headers))))
    status, headers = seen[0]
    return status, dict(headers), body


def test_xapi_requests_take_the_short_road_and_others_the_usual_one(tenant):
    credential, secret = services.create_credential(
        actor=Actor.system("test"), tenant_id=tenant.pk, name="c"
    )
    token = base64.b64encode(f"{credential.key}:{secret}".encode()).decode()
    calls: list[str] = []

    def usual(environ: Any, start_response: Any) -> Any:
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"usual"]

    app = with_xapi_fast_path(usual)
    statement = {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "http://example.com/a"},
    }
    # a screen request earlier on this thread left a time zone and a language active
    timezone.activate("Europe/Paris")
    translation.activate("fr")
    status, headers, body = _call(
        app,
        _environ(
            "/xapi/statements", token, json.dumps(statement).encode(), "POST", HTTP_ORIGIN="x"
        ),
    )
    assert status.startswith("200"), body
    assert len(json.loads(body)) == 1
    assert headers["X-Experience-API-Version"] == "1.0.3"
    assert headers["Access-Control-Allow-Origin"] == "*"  # CORS kept on the short road
    assert timezone.get_current_timezone_name() == "UTC"
    assert calls == []
    assert _call(app, _environ("/healthz", token))[2] == b"usual"
    assert calls == ["/healthz"]
    # a wrong secret is still refused when the credential is cached
    bad = base64.b64encode(f"{credential.key}:nope".encode()).decode()
    assert _call(app, _environ("/xapi/statements", bad))[0].startswith("401")


def test_the_short_road_has_only_its_own_middleware():
    handler = XapiHandler()
    assert handler._view_middleware == []
    chain = handler._middleware_chain
    assert chain is not None


def test_a_revoked_or_changed_credential_is_not_served_from_the_cache(tenant):
    credential, secret = services.create_credential(
        actor=Actor.system("test"), tenant_id=tenant.pk, name="c"
    )
    lrs = XapiClient(credential.key, secret)
    assert lrs.get("statements").status_code == 200
    assert credential.key in wire._credentials
    row = Credential.objects.get(pk=credential.pk)
    row.can_read = False
    row.save()
    assert lrs.get("statements").status_code == 403
    services.revoke_credential(actor=Actor.system("test"), credential=row)
    assert lrs.get("statements").status_code == 401


def test_the_cache_expires(tenant, monkeypatch):
    credential, secret = services.create_credential(
        actor=Actor.system("test"), tenant_id=tenant.pk, name="c"
    )
    lrs = XapiClient(credential.key, secret)
    assert lrs.get("statements").status_code == 200
    # revoked behind the process's back (another process): refused once the entry expires
    Credential.objects.filter(pk=credential.pk).update(revoked_at=timezone.now())
    monkeypatch.setattr(wire, "CREDENTIAL_TTL", 0.0)
    wire._credentials[credential.key] = (0.0, wire._credentials[credential.key][1])
    assert lrs.get("statements").status_code == 401
