from django.contrib import admin

from uptake.identity.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "tenant", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant"]
    # The hash is never useful to a human; the secret is never stored.
    exclude = ["key_hash"]
    readonly_fields = ["prefix", "last_used_at"]
