from django.contrib import admin

from uptake.people.models import Person, PersonRole


class PersonRoleInline(admin.TabularInline):
    model = PersonRole
    extra = 0
    fields = ["role"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["employee_id", "first_name", "last_name", "email", "department", "is_active"]
    list_filter = ["tenant", "is_active", "department", "location"]
    search_fields = ["employee_id", "first_name", "last_name", "email"]
    raw_id_fields = ["user", "manager"]
    inlines = [PersonRoleInline]
