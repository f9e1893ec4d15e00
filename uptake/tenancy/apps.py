from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "uptake.tenancy"
    label = "tenancy"
