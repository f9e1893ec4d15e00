from django.contrib import admin

from uptake.progress.models import ActivityCompletion, Attempt


@admin.register(ActivityCompletion)
class ActivityCompletionAdmin(admin.ModelAdmin):
    list_display = ["enrollment", "activity", "completed_at", "tenant"]
    list_filter = ["tenant"]
    raw_id_fields = ["enrollment", "activity"]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["enrollment", "activity", "number", "score_percent", "passed", "submitted_at"]
    list_filter = ["tenant", "passed"]
    raw_id_fields = ["enrollment", "activity"]
