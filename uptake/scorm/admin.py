from django.contrib import admin

from uptake.scorm.models import Item, Package, ScoState


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "activity",
        "version",
        "edition",
        "file_count",
        "uploaded_at",
        "tenant",
    ]
    list_filter = ["tenant", "version"]
    raw_id_fields = ["activity", "uploaded_by"]
    # Files and items come from the zip: change them by uploading a package again.
    readonly_fields = ["storage_dir", "files", "file_count", "total_bytes"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["title", "identifier", "package", "position", "scorm_type", "href"]
    list_filter = ["tenant", "scorm_type"]
    raw_id_fields = ["package"]


@admin.register(ScoState)
class ScoStateAdmin(admin.ModelAdmin):
    list_display = [
        "enrollment", "item", "completion_status", "success_status", "score_percent",
        "total_seconds", "entry", "attempt", "satisfied_at",
    ]  # fmt: skip
    list_filter = ["tenant", "completion_status", "success_status"]
    raw_id_fields = ["enrollment", "item"]
