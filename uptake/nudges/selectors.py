"""Reads of nudges: campaigns, the delivery log with filters, a person's preferences, the
learner banner (overdue and due soon), webhook endpoints and experiment results. Tenant-scoped,
N+1-safe."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from uptake.core import clock
from uptake.core.errors import NotFound
from uptake.core.models import OutboxMessage
from uptake.enrollment.models import Enrollment
from uptake.nudges import rules, stats
from uptake.nudges.models import Campaign, Delivery, Nudge, Preference, WebhookEndpoint
from uptake.people.models import Person

DUE_SOON = dt.timedelta(days=3)


def list_campaigns(*, tenant_id: int) -> QuerySet[Campaign]:
    return (
        Campaign.objects.filter(tenant_id=tenant_id)
        .select_related("audience", "path", "course")
        .annotate(
            sent_count=Count("nudges", filter=Q(nudges__status=Nudge.Status.DISPATCHED)),
            suppressed_count=Count("nudges", filter=Q(nudges__status=Nudge.Status.SUPPRESSED)),
        )
        .order_by("-priority", "name", "pk")
    )


def get_campaign(*, tenant_id: int, campaign_id: int) -> Campaign:
    campaign = (
        Campaign.objects.filter(tenant_id=tenant_id, pk=campaign_id)
        .select_related("audience", "path", "course")
        .prefetch_related("arms", "messages")
        .first()
    )
    if campaign is None:
        raise NotFound(_("There is no campaign %(id)s.") % {"id": campaign_id})
    return campaign


def delivery_log(
    *,
    tenant_id: int,
    campaign_id: int | None = None,
    channel: str | None = None,
    status: str | None = None,
    reason: str | None = None,
    person: str | None = None,
) -> QuerySet[Delivery]:
    """Every message of every nudge, newest first. `state` is the live status: the outbox says
    whether an email or webhook was sent, failed for good, or is being retried."""
    qs = (
        Delivery.objects.filter(tenant_id=tenant_id)
        .select_related("recipient", "campaign", "nudge", "outbox_message")
        .annotate(
            state=Case(
                When(outbox_message__status=OutboxMessage.Status.SENT, then=Value("sent")),
                When(outbox_message__status=OutboxMessage.Status.FAILED, then=Value("failed")),
                When(
                    outbox_message__status=OutboxMessage.Status.PENDING,
                    outbox_message__attempts__gt=0,
                    then=Value("retrying"),
                ),
                # Being sent now (leased by a worker): a retry if an attempt came before.
                When(
                    outbox_message__status=OutboxMessage.Status.SENDING,
                    outbox_message__attempts__gt=1,
                    then=Value("retrying"),
                ),
                default=F("status"),
                output_field=CharField(),
            )
        )
        .order_by("-created_at", "-id")
    )
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    if channel:
        qs = qs.filter(channel=channel)
    if status:
        qs = qs.filter(state=status)
    if reason:
        qs = qs.filter(reason=reason)
    if person:
        term = person.strip()
        qs = qs.filter(
            Q(recipient__email__icontains=term)
            | Q(recipient__last_name__icontains=term)
            | Q(recipient__first_name__icontains=term)
        )
    return qs


def preferences(*, person: Person) -> dict[str, dict[str, object]]:
    rows = {
        p.channel: p for p in Preference.objects.filter(tenant_id=person.tenant_id, person=person)
    }
    out: dict[str, dict[str, object]] = {}
    for ch in rules.CHANNELS:
        p = rows.get(ch)
        out[ch] = {
            "enabled": True if p is None else p.enabled,
            "unsubscribed_at": None if p is None else p.unsubscribed_at,
        }
    return out


@dataclass(frozen=True)
class BannerItem:
    enrollment_id: int
    course_id: int
    course_title: str
    due_at: dt.datetime
    overdue: bool


def banner(*, person: Person, now: dt.datetime | None = None) -> list[BannerItem]:
    """The learner's overdue and due-soon (3 days) enrolments, overdue first. One query."""
    now = now or clock.now()
    rows = (
        Enrollment.objects.filter(
            tenant_id=person.tenant_id,
            person=person,
            status__in=rules.OPEN_STATUSES,
            due_at__isnull=False,
            due_at__lte=now + DUE_SOON,
        )
        .order_by("due_at")
        .values_list("pk", "course_id", "course__title", "due_at")[:5]
    )
    return [
        BannerItem(pk, cid, title, due, due < now)
        for pk, cid, title, due in rows
        if due is not None
    ]


def list_webhooks(*, tenant_id: int) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(tenant_id=tenant_id).order_by("kind", "name")


# --- Experiment results ----------------------------------------------------------------------


@dataclass
class ArmResult:
    name: str
    exposed: int = 0
    started: int = 0  # started within the campaign's outcome_days of the first nudge
    on_time: int = 0  # completed by the due date
    completed: int = 0
    vs_control: dict[str, stats.Comparison | None] = field(default_factory=dict)
    vs_holdout: dict[str, stats.Comparison | None] = field(default_factory=dict)

    def rate(self, metric: str) -> float | None:
        return stats.rate(getattr(self, metric), self.exposed)


METRICS = ("started", "on_time", "completed")


@dataclass
class Results:
    campaign: Campaign
    arms: list[ArmResult]
    control: str
    test_name: str = stats.TEST_NAME


def experiment_results(*, tenant_id: int, campaign_id: int) -> Results:
    """Per arm (and the holdout): people exposed (their first nudge of the campaign, or the
    moment they would have got it), and how many started within N days, completed by the due
    date, completed at all; each compared with the control arm and with the holdout."""
    campaign = get_campaign(tenant_id=tenant_id, campaign_id=campaign_id)
    first: dict[int, tuple[str, dt.datetime]] = {}
    for enrollment_id, arm, due_at in (
        Nudge.objects.filter(tenant_id=tenant_id, campaign=campaign, is_escalation=False)
        .order_by("due_at")
        .values_list("enrollment_id", "arm", "due_at")
        .iterator(chunk_size=5000)
    ):
        first.setdefault(enrollment_id, (arm, due_at))
    names = [a.name for a in campaign.arms.all()]
    control = names[0] if names else ""
    by_arm = {n: ArmResult(n) for n in [*names, rules.HOLDOUT]}
    window = dt.timedelta(days=campaign.outcome_days)
    ids = list(first)
    for start in range(0, len(ids), 5000):
        for pk, started_at, completed_at, due_by in Enrollment.objects.filter(
            pk__in=ids[start : start + 5000]
        ).values_list("pk", "started_at", "completed_at", "due_at"):
            arm, exposed_at = first[pk]
            result = by_arm.setdefault(arm or "", ArmResult(arm or ""))
            result.exposed += 1
            if started_at is not None and started_at <= exposed_at + window:
                result.started += 1
            if completed_at is not None:
                result.completed += 1
                if due_by is None or completed_at <= due_by:
                    result.on_time += 1
    holdout = by_arm[rules.HOLDOUT]
    for r in by_arm.values():
        for metric in METRICS:
            if control and r.name != control:
                c = by_arm[control]
                r.vs_control[metric] = stats.compare(
                    getattr(r, metric), r.exposed, getattr(c, metric), c.exposed
                )
            if r.name != rules.HOLDOUT:
                r.vs_holdout[metric] = stats.compare(
                    getattr(r, metric), r.exposed, getattr(holdout, metric), holdout.exposed
                )
    arms = [by_arm[n] for n in by_arm if by_arm[n].exposed or n in names]
    if campaign.holdout_percent == 0 and holdout.exposed == 0:
        arms = [a for a in arms if a.name != rules.HOLDOUT]
    return Results(campaign=campaign, arms=arms, control=control)
