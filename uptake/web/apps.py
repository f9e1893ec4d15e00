from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "uptake.web"
    label = "web"
