from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "uptake.assignments"
    label = "assignments"
