from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "uptake.identity"
    label = "identity"
