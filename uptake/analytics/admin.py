from django.contrib import admin

from uptake.analytics.models import LearningEvent


@admin.register(LearningEvent)
class LearningEventAdmin(admin.ModelAdmin):
    """Append-only facts: readable here, never edited."""

    list_display = ["occurred_at", "person", "verb", "object_type", "object_id", "value", "tenant"]
    list_filter = ["tenant", "verb"]
    raw_id_fields = ["person"]
    date_hierarchy = "occurred_at"

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
