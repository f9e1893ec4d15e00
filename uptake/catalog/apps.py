from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "uptake.catalog"
    label = "catalog"
