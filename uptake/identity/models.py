"""API tokens (stored hashed) and the login throttle's record of failures."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from uptake.core.models import TenantScoped


class ApiToken(TenantScoped):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12)  # shown to identify the token; not a secret
    key_hash = models.CharField(max_length=64, unique=True)  # sha256 hex of the full token
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or self.user_id})"
