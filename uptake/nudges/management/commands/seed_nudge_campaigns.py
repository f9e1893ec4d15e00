"""Give an organisation the starter nudge campaigns (active), once: the demo's `make run`
then sends welcome, reminder, due-soon, overdue and congratulation emails to var/outbox."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from uptake.core.actor import Actor
from uptake.nudges import services
from uptake.nudges.models import Campaign
from uptake.tenancy.models import Tenant

STARTER = [
    {"name": "Welcome", "trigger": "assigned", "attach_calendar": True, "priority": 5},
    {"name": "Not started after 3 days", "trigger": "not_started", "days": 3, "priority": 3},
    {"name": "Due in 2 days", "trigger": "due_soon", "days": 2, "priority": 4},
    {
        "name": "Overdue",
        "trigger": "overdue",
        "repeat_every_days": 2,
        "max_repeats": 3,
        "escalate_after_days": 5,
        "priority": 6,
    },
    {"name": "Well done", "trigger": "completed", "priority": 2},
]


class Command(BaseCommand):
    help = "Create and activate the starter nudge campaigns for an organisation (once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", default="demo", help="organisation slug (default: demo)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"There is no organisation with the slug {options['tenant']!r}.")
        if Campaign.objects.filter(tenant=tenant).exists():
            self.stdout.write("Nudge campaigns already exist: nothing to do.")
            return
        actor = Actor.system("seed")
        for spec in STARTER:
            campaign = services.create_campaign(
                actor=actor,
                tenant_id=tenant.pk,
                data=services.CampaignData(channels=("email", "in_app"), **spec),  # type: ignore[arg-type]
            )
            services.set_status(
                actor=actor, tenant_id=tenant.pk, campaign_id=campaign.pk, status="active"
            )
        self.stdout.write(f"Created {len(STARTER)} active nudge campaigns for {tenant.name}.")
