from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "uptake.core"
    label = "core"
