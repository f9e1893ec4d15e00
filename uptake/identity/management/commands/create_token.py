"""`python manage.py create_token USERNAME [--name NAME]`: print a new API token once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from uptake.core.actor import Actor
from uptake.core.errors import DomainError
from uptake.identity.services import create_token


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="command line", help="A label to recognise the token."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user called {options['username']!r}.")
        try:
            _, raw = create_token(
                actor=Actor.system("create_token"), user=user, name=options["name"]
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(raw)
