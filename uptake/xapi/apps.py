from django.apps import AppConfig


class XapiConfig(AppConfig):
    name = "uptake.xapi"
    label = "xapi"
    verbose_name = "xAPI record store"

    def ready(self) -> None:
        from uptake.core import outbox
        from uptake.xapi import forwarding

        outbox.register_sender(forwarding.CHANNEL, forwarding.send_statements)
