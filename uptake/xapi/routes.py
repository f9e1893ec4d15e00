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
from uptake.xapi import forwarding, services
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


# --- forwarding learning events to an external LRS ------------------------------------------


class ForwardingIn(Schema):
    endpoint: str
    key: str
    secret: str | None = None  # None: keep the stored secret
    is_active: bool = True


class ForwardingOut(Schema):
    endpoint: str
    key: str
    is_active: bool
    last_event_id: int
    updated_at: dt.datetime
    pending_batches: int
    sent_batches: int
    failed_batches: int
    last_error: str


def _forwarding_out(tenant_id: int, setting: Any) -> dict[str, Any]:
    return {
        "endpoint": setting.endpoint,
        "key": setting.key,
        "is_active": setting.is_active,
        "last_event_id": setting.last_event_id,
        "updated_at": setting.updated_at,
        **forwarding.delivery_state(tenant_id=tenant_id),
    }


@router.get("/forwarding", response=ForwardingOut)
def get_forwarding(request: HttpRequest) -> Any:
    """Where the organisation's learning events go as xAPI statements (the secret is never
    shown), with the state of their delivery."""
    viewer = _admin(request)
    setting = forwarding.forwarding_of(tenant_id=viewer.tenant_id)
    if setting is None:
        raise NotFound("This organisation does not forward its learning events to an LRS.")
    return _forwarding_out(viewer.tenant_id, setting)


@router.put("/forwarding", response=ForwardingOut)
def put_forwarding(request: HttpRequest, payload: ForwardingIn) -> Any:
    """Send the organisation's learning events (from now on) to an external LRS as xAPI
    statements, or change where they go; `secret` may be left out to keep the stored one."""
    viewer = _admin(request)
    setting = forwarding.configure_forwarding(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        endpoint=payload.endpoint,
        key=payload.key,
        secret=payload.secret,
        is_active=payload.is_active,
    )
    return _forwarding_out(viewer.tenant_id, setting)


@router.delete("/forwarding", response={204: None})
def delete_forwarding(request: HttpRequest) -> Any:
    """Stop forwarding and forget the LRS and its secret."""
    viewer = _admin(request)
    forwarding.remove_forwarding(actor=viewer.actor, tenant_id=viewer.tenant_id)
    return 204, None
