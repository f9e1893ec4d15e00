from django.contrib import admin

from uptake.core.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "channel", "status", "attempts", "available_at", "sent_at"]
    list_filter = ["tenant", "channel", "status"]
    search_fields = ["idempotency_key"]
    readonly_fields = ["payload", "last_error"]
