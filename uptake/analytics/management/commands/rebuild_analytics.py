"""Recompute the analytics rollups from the event fact table."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from uptake.analytics import rollups
from uptake.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Drop and recompute the analytics rollups from LearningEvent (one tenant or all)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", help="slug of the organisation (default: every one)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_id = None
        if options.get("tenant"):
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"There is no organisation with the slug {options['tenant']!r}.")
            tenant_id = tenant.pk
        started = time.perf_counter()
        count = rollups.rebuild(tenant_id=tenant_id)
        rollups.vacuum_after_rebuild()
        seconds = time.perf_counter() - started
        self.stdout.write(f"Rebuilt the analytics rollups from {count:,} events in {seconds:.1f}s.")
