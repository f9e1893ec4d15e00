"""`manage.py seed_demo`: build the demo organisation once and print its logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uptake.demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo organisation (people, courses, enrolments, four known logins). "
        "Idempotent: when the tenant exists it only prints the logins again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=200, help="headcount (default 200)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--tenant-slug", default="demo", help="tenant slug (default demo)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = seed_demo(
                people=options["people"], seed=options["seed"], tenant_slug=options["tenant_slug"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if result.created and result.summary is not None:
            self.stdout.write(self.style.SUCCESS(f"Created {result.summary.describe()}"))
        else:
            self.stdout.write(f"The {result.tenant_slug!r} organisation already exists; unchanged.")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {result.password}):")
        for login in result.logins:
            self.stdout.write(
                f"  {login.username:<16} {login.name} ({login.job_title}): {login.shows}"
            )
        self.stdout.write(
            "Every other generated person signs in with their email address and the same password."
        )
