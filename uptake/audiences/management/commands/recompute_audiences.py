"""`python manage.py recompute_audiences --tenant SLUG`: recompute every active audience now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uptake.audiences import services
from uptake.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Recompute the membership of every active audience of a tenant (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="the organisation's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"There is no organisation with the slug {options['tenant']!r}.")
        diffs = services.recompute_audiences(tenant_id=tenant.pk)
        joined = sum(len(d.joined) for d in diffs)
        left = sum(len(d.left) for d in diffs)
        self.stdout.write(
            f"{len(diffs)} audiences recomputed for {tenant.slug}: {joined} joined, {left} left."
        )
