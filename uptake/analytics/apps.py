from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "uptake.analytics"
    label = "analytics"
