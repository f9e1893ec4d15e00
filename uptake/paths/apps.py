from django.apps import AppConfig


class PathsConfig(AppConfig):
    name = "uptake.paths"
    label = "paths"
