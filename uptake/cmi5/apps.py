from django.apps import AppConfig


class Cmi5Config(AppConfig):
    name = "uptake.cmi5"
    label = "cmi5"
    verbose_name = "cmi5 content"
