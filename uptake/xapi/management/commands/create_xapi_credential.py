"""`python manage.py create_xapi_credential TENANT_SLUG NAME [--read-only|--write-only]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uptake.core.actor import Actor
from uptake.core.errors import DomainError
from uptake.tenancy.models import Tenant
from uptake.xapi.services import create_credential


class Command(BaseCommand):
    help = (
        "Create an xAPI credential (HTTP Basic key and secret) for a tenant and print "
        "'KEY SECRET' (the secret is shown only once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("name", help="A label for the client, e.g. 'Articulate package'.")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--read-only", action="store_true")
        scope.add_argument("--write-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No organisation with slug {options['tenant']!r}.")
        try:
            credential, secret = create_credential(
                actor=Actor.system("create_xapi_credential"),
                tenant_id=tenant.pk,
                name=options["name"],
                can_read=not options["write_only"],
                can_write=not options["read_only"],
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"{credential.key} {secret}")
