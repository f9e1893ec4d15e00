from django.apps import AppConfig


class XapiConfig(AppConfig):
    name = "uptake.xapi"
    label = "xapi"
    verbose_name = "xAPI record store"

    def ready(self) -> None:
        from uptake.core import outbox
        from uptake.xapi import forwarding

        outbox.register_sender(forwarding.CHANNEL, forwarding.send_statements)

        from django.db.models.signals import post_delete, post_save

        from uptake.xapi import wire
        from uptake.xapi.models import Credential

        # A credential changed or deleted through the ORM in this process is read again at
        # once (the per-process credential cache of ADR 0018).
        def forget(sender: object, instance: Credential, **kwargs: object) -> None:
            wire.forget_credential(instance.key)

        post_save.connect(
            forget, sender=Credential, weak=False, dispatch_uid="xapi-forget-credential"
        )
        post_delete.connect(
            forget, sender=Credential, weak=False, dispatch_uid="xapi-forget-credential-del"
        )
