from django.contrib import admin

from uptake.analytics.models import LearningEvent


@admin.register(LearningEvent)
class LearningEventAdmin(admin.ModelAdmin):
    """Append-only facts: readable here, never edited."""

    list_display = ["occurred_at", "person", "verb", "object_type", "object_id", "value", "tenant"]
    list_filter = ["tenant", "verb"]
    raw_id_fields = ["person"]
    # Newest first along the primary key, no total count: the table holds millions of rows
    # and has one secondary index (ADR 0029), so a page reads about as many rows as it shows.
    ordering = ["-pk"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
