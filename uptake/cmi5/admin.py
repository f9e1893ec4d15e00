from django.contrib import admin

from uptake.cmi5.models import (
    AssignableUnit,
    AuResult,
    Block,
    CourseStructure,
    Registration,
    Session,
)


@admin.register(CourseStructure)
class CourseStructureAdmin(admin.ModelAdmin):
    list_display = ("title", "publisher_id", "course", "tenant", "created_at")
    search_fields = ("title", "publisher_id")
    exclude = ("xml",)


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("title", "publisher_id", "structure")


@admin.register(AssignableUnit)
class AssignableUnitAdmin(admin.ModelAdmin):
    list_display = ("title", "publisher_id", "move_on", "mastery_score", "structure")
    search_fields = ("title", "publisher_id")


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ("registration", "enrollment", "structure", "course_satisfied_at")
    raw_id_fields = ("enrollment",)


@admin.register(AuResult)
class AuResultAdmin(admin.ModelAdmin):
    list_display = ("registration", "au", "completed_at", "passed_at", "failed_at", "satisfied_at")
    raw_id_fields = ("registration",)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = (
        "session_id",
        "au",
        "launch_mode",
        "launched_at",
        "terminated_at",
        "abandoned_at",
    )
    raw_id_fields = ("registration", "credential")
    exclude = ("fetch_hash",)
