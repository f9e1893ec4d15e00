"""Fixtures for the record store: credentials and a client speaking xAPI 1.0.3."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client

from uptake.core.actor import Actor
from uptake.xapi import services


class XapiClient:
    """Django's test client with HTTP Basic credentials and the version header."""

    def __init__(self, key: str, secret: str, version: str | None = "1.0.3") -> None:
        self.client = Client()
        token = base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.headers: dict[str, str] = {"HTTP_AUTHORIZATION": f"Basic {token}"}
        if version:
            self.headers["HTTP_X_EXPERIENCE_API_VERSION"] = version

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        out = dict(self.headers)
        for name, value in (extra or {}).items():
            out["HTTP_" + name.upper().replace("-", "_")] = value
        return out

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get("/xapi/" + path, params or {}, **self._headers(headers))

    def post(
        self, path: str, body: Any, content_type: str = "application/json", **headers: str
    ) -> Any:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(
            "/xapi/" + path, data, content_type=content_type, **self._headers(headers)
        )

    def put(
        self, path: str, body: Any, content_type: str = "application/json", **headers: str
    ) -> Any:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.put(
            "/xapi/" + path, data, content_type=content_type, **self._headers(headers)
        )

    def delete(self, path: str, **headers: str) -> Any:
        return self.client.delete("/xapi/" + path, **self._headers(headers))


def make_client(tenant: Any, **scopes: bool) -> XapiClient:
    credential, secret = services.create_credential(
        actor=Actor.system("test"), tenant_id=tenant.pk, name="test client", **scopes
    )
    return XapiClient(credential.key, secret)


@pytest.fixture
def lrs(tenant: Any) -> XapiClient:
    return make_client(tenant)


@pytest.fixture
def other_lrs(other_tenant: Any) -> XapiClient:
    return make_client(other_tenant)


def statement(n: int = 0, **extra: Any) -> dict[str, Any]:
    st: dict[str, Any] = {
        "actor": {"objectType": "Agent", "mbox": f"mailto:learner{n}@example.com", "name": "L"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/experienced",
            "display": {"en-US": "experienced"},
        },
        "object": {
            "id": f"http://example.com/activities/{n}",
            "definition": {"name": {"en-US": "Activity", "fr": "Activité"}},
        },
    }
    st.update(extra)
    return st
