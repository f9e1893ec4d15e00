from django.apps import AppConfig


class ScormConfig(AppConfig):
    name = "uptake.scorm"
    label = "scorm"
    verbose_name = "SCORM content"
