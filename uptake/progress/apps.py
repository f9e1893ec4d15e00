from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "uptake.progress"
    label = "progress"
