from django.contrib import admin

from uptake.tenancy.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "time_zone", "language"]
    search_fields = ["name", "slug"]
