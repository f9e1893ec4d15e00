from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "uptake.enrollment"
    label = "enrollment"
