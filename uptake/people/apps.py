from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "uptake.people"
    label = "people"
