from django.contrib import admin

from uptake.enrollment.models import Enrollment


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["person", "course", "status", "source", "due_at", "progress_percent", "tenant"]
    list_filter = ["tenant", "status", "source"]
    search_fields = ["person__last_name", "person__email", "course__title"]
    raw_id_fields = ["person", "course", "assigned_by", "last_activity"]
    date_hierarchy = "assigned_at"
