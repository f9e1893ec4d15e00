"""Back office: credentials (keys only; create them with the API or the command, which show
the secret once) and the documents, read-only."""

from __future__ import annotations

from django.contrib import admin

from uptake.xapi.models import Credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "tenant", "can_read", "can_write", "last_used_at", "revoked_at")
    list_filter = ("can_read", "can_write")
    search_fields = ("name", "key")
    readonly_fields = ("key", "secret_hash", "last_used_at", "created_at", "updated_at")
