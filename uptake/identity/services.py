"""Writes about identity: API tokens."""

from __future__ import annotations

from django.contrib.auth.models import User

from uptake.core import clock
from uptake.core.actor import Actor
from uptake.core.errors import ValidationFailed
from uptake.identity import tokens
from uptake.identity.models import ApiToken


def create_token(*, actor: Actor, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for a user who has a person in a tenant; returns (token row, raw secret).

    The raw secret is returned once and never stored.
    """
    person = getattr(user, "person", None)
    if person is None:
        raise ValidationFailed(
            f"User {user.get_username()!r} is not linked to a person in any organisation."
        )
    raw = tokens.generate()
    token = ApiToken.objects.create(
        tenant_id=person.tenant_id,
        user=user,
        name=name,
        prefix=raw[:10],
        key_hash=tokens.hash_token(raw),
    )
    return token, raw


def revoke_token(*, actor: Actor, token: ApiToken) -> None:
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
