"""The Django admin's titles (the back office for raw data)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_title = _("Uptake administration")
admin.site.site_header = _("Uptake administration")
admin.site.index_title = _("Raw data")
