from django.apps import AppConfig


class XapiConfig(AppConfig):
    name = "uptake.xapi"
    label = "xapi"
    verbose_name = "xAPI record store"
