"""Raw catalogue data for platform operators; authors use the authoring screens."""

from __future__ import annotations

from django.contrib import admin

from uptake.catalog.models import Activity, Choice, Course, Module, Question


class ModuleInline(admin.TabularInline):
    model = Module
    extra = 0
    fields = ["title", "position"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "tenant", "status", "owner", "language", "published_at"]
    list_filter = ["status", "language", "tenant"]
    search_fields = ["title", "slug", "summary"]
    raw_id_fields = ["owner"]
    inlines = [ModuleInline]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "course", "module", "position", "required"]
    list_filter = ["kind", "tenant"]
    search_fields = ["title"]
    raw_id_fields = ["module", "course"]
    readonly_fields = ["body_html"]


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0
    fields = ["text", "is_correct", "feedback", "position"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "activity", "position"]
    list_filter = ["kind", "tenant"]
    raw_id_fields = ["activity"]
    inlines = [ChoiceInline]
