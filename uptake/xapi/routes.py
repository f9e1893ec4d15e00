"""The xAPI credentials API: /api/v1/xapi/credentials (list, create, revoke). Platform admins
only; the secret is in the create response once and never again."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from uptake.core.errors import NotFound
from uptake.identity.context import Viewer, viewer_for
from uptake.people import rules as roles
from uptake.xapi import services
from uptake.xapi.models import Credential

router = Router()


class CredentialOut(Schema):
    id: int
    name: str
    key: str
    can_read: bool
    can_write: bool
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class CredentialIn(Schema):
    name: str
    can_read: bool = True
    can_write: bool = True


class CreatedOut(Schema):
    credential: CredentialOut
    secret: str
    endpoint: str


def _admin(request: HttpRequest) -> Viewer:
    viewer = viewer_for(request)
    viewer.require(roles.PLATFORM_ADMIN)
    return viewer


def _get(viewer: Viewer, credential_id: int) -> Credential:
    credential = Credential.objects.filter(tenant_id=viewer.tenant_id, pk=credential_id).first()
    if credential is None:
        raise NotFound(f"There is no xAPI credential {credential_id}.")
    return credential


@router.get("/credentials", response=list[CredentialOut])
def list_credentials(request: HttpRequest) -> Any:
    """The organisation's xAPI credentials (keys only; secrets are never shown again)."""
    viewer = _admin(request)
    return list(Credential.objects.filter(tenant_id=viewer.tenant_id).order_by("-created_at"))


@router.post("/credentials", response={201: CreatedOut})
def create_credential(request: HttpRequest, payload: CredentialIn) -> Any:
    """A new key and secret for an xAPI client (HTTP Basic on /xapi/); the secret is shown
    only in this response."""
    viewer = _admin(request)
    credential, secret = services.create_credential(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        name=payload.name,
        can_read=payload.can_read,
        can_write=payload.can_write,
    )
    return 201, {
        "credential": credential,
        "secret": secret,
        "endpoint": request.build_absolute_uri("/xapi/"),
    }


@router.post("/credentials/{credential_id}/revoke", response=CredentialOut)
def revoke_credential(request: HttpRequest, credential_id: int) -> Any:
    """Revoke a credential: its key stops working at once."""
    viewer = _admin(request)
    return services.revoke_credential(actor=viewer.actor, credential=_get(viewer, credential_id))
