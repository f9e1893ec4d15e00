from django.apps import AppConfig


class NudgesConfig(AppConfig):
    name = "uptake.nudges"
    label = "nudges"

    def ready(self) -> None:
        from uptake.core import outbox
        from uptake.nudges import channels

        outbox.register_sender("webhook", channels.send_webhook_message)
