"""Back office: credentials (keys only; create them with the API or the command, which show
the secret once) and the documents, read-only."""

from __future__ import annotations

from django.contrib import admin

from uptake.xapi.models import Credential, Forwarding


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "tenant", "can_read", "can_write", "last_used_at", "revoked_at")
    list_filter = ("can_read", "can_write")
    search_fields = ("name", "key")
    readonly_fields = ("key", "secret_hash", "last_used_at", "created_at", "updated_at")


@admin.register(Forwarding)
class ForwardingAdmin(admin.ModelAdmin):
    """Where organisations forward their learning events; set it through the API (the secret
    is encrypted and never shown here)."""

    list_display = ("tenant", "endpoint", "key", "is_active", "last_event_id", "updated_at")
    list_filter = ("is_active",)
    exclude = ("secret_encrypted",)
    readonly_fields = ("endpoint", "key", "last_event_id", "created_at", "updated_at")
