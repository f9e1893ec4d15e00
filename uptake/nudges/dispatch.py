"""Dispatch: turn the nudges whose send time has come into messages, one batch per
transaction: the delivery log rows, the in-app notifications and the outbox rows (email with
its calendar invitation, Teams and Slack webhooks), then mark the nudges dispatched.

A crash before the commit leaves nothing behind (the batch is done again); after it, the
outbox holds each message under a unique key and delivers it at most once. So a worker killed
mid-batch and restarted sends every nudge exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.urls import reverse

from uptake.core import clock, outbox
from uptake.core.bulk import chunks, insert_rows
from uptake.enrollment.models import Enrollment
from uptake.nudges import channels, rules
from uptake.nudges.models import (
    CalendarInvite,
    Campaign,
    Delivery,
    Nudge,
    Preference,
    WebhookEndpoint,
)
from uptake.people.models import Person

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class Recipient:
    pk: int
    tenant_id: int
    first_name: str
    full_name: str
    email: str
    language: str
    time_zone: str
    is_active: bool


def _people(ids: set[int]) -> dict[int, Recipient]:
    out = {}
    for pk, tenant_id, first, last, email, language, tz, active in Person.objects.filter(
        pk__in=ids
    ).values_list(
        "pk",
        "tenant_id",
        "first_name",
        "last_name",
        "email",
        "language",
        "time_zone",
        "is_active",
    ):
        out[pk] = Recipient(
            pk, tenant_id, first, f"{first} {last}".strip(), email, language, tz, active
        )
    return out


def _first_activities(course_ids: set[int]) -> dict[int, int]:
    from uptake.catalog.models import Activity

    out: dict[int, int] = {}
    for course_id, activity_id in (
        Activity.objects.filter(course_id__in=course_ids)
        .order_by("course_id", "module__position", "position", "id")
        .values_list("course_id", "id")
    ):
        out.setdefault(course_id, activity_id)
    return out


def _preferences(ids: set[int]) -> tuple[dict[int, set[str]], set[int]]:
    opted_out: dict[int, set[str]] = {}
    unsubscribed: set[int] = set()
    for person_id, channel, enabled, unsub in Preference.objects.filter(
        person_id__in=ids
    ).values_list("person_id", "channel", "enabled", "unsubscribed_at"):
        if not enabled:
            opted_out.setdefault(person_id, set()).add(channel)
        if channel == "email" and unsub is not None and not enabled:
            unsubscribed.add(person_id)
    return opted_out, unsubscribed


def _message_for(
    campaign: Campaign, arm: str, language: str, tenant_language: str
) -> tuple[str, str]:
    """Subject and body: the arm's message in the person's language, else the campaign's in it,
    else in the organisation's language, else the arm's or campaign's default (blank = built-in)."""
    messages = {(m.language, m.arm): m for m in campaign.messages.all()}
    for key in ((language, arm), (language, ""), (tenant_language, arm), (tenant_language, "")):
        m = messages.get(key)
        if m is not None:
            return m.subject, m.body
    for a in campaign.arms.all():
        if a.name == arm and (a.subject or a.body):
            return a.subject or campaign.subject, a.body or campaign.body
    return campaign.subject, campaign.body


def channels_for(campaign: Campaign, arm: str) -> list[str]:
    for a in campaign.arms.all():
        if a.name == arm and a.channels:
            return list(a.channels)
    return list(campaign.channels or [])


def learner_link(enrollment_id: int, course_id: int, activity_id: int | None) -> str:
    if activity_id:
        return channels.absolute(reverse("web:activity", args=[enrollment_id, activity_id]))
    return channels.absolute(reverse("web:course", args=[course_id]))


def _calendar(
    *,
    nudge: Nudge,
    enrollment: dict[str, Any],
    recipient: Recipient,
    content: channels.Content,
    now: dt.datetime,
) -> str | None:
    """The REQUEST invitation for the enrolment's due date: the same UID for the enrolment's
    life; SEQUENCE goes up when the due date moved since the last invitation."""
    due_at = enrollment["due_at"]
    if due_at is None:
        return None
    invite = CalendarInvite.objects.filter(enrollment_id=enrollment["pk"]).first()
    if invite is None:
        invite = CalendarInvite.objects.create(
            tenant_id=nudge.tenant_id,
            enrollment_id=enrollment["pk"],
            uid=channels.calendar_uid(enrollment["pk"], nudge.tenant_id),
            sequence=0,
            due_at=due_at,
        )
    elif invite.due_at != due_at or invite.cancelled_at is not None:
        invite.sequence += 1
        invite.due_at = due_at
        invite.cancelled_at = None
        invite.save(update_fields=["sequence", "due_at", "cancelled_at", "updated_at"])
    return channels.build_ics(
        method="REQUEST",
        uid=invite.uid,
        sequence=invite.sequence,
        summary=content.subject,
        description=f"{content.body}\n{content.link}",
        due_at=due_at,
        url=content.link,
        attendee_email=recipient.email,
        attendee_name=recipient.full_name,
        stamp=now,
    )


def _claim(now: dt.datetime, limit: int) -> list[Nudge]:
    qs = Nudge.objects.filter(dispatched_at__isnull=True, send_at__lte=now).order_by(
        "send_at", "pk"
    )
    if connection.vendor == "postgresql":
        # Several dispatchers share the work; each row is taken by exactly one of them.
        qs = qs.select_for_update(skip_locked=True)
    return list(qs[:limit])


def dispatch_batch(*, now: dt.datetime, limit: int = BATCH) -> int:
    """Dispatch up to `limit` due nudges in one transaction; returns how many were handled."""
    from uptake.notifications.services import Draft, notify_each
    from uptake.nudges.tasks import deliver_nudge_messages
    from uptake.tenancy.models import Tenant

    with transaction.atomic():
        nudges = _claim(now, limit)
        if not nudges:
            return 0
        campaigns = {
            c.pk: c
            for c in Campaign.objects.filter(pk__in={n.campaign_id for n in nudges})
            .select_related("tenant")
            .prefetch_related("arms", "messages")
        }
        enrollments: dict[int, dict[str, Any]] = {
            e["pk"]: dict(e)
            for e in Enrollment.objects.filter(pk__in={n.enrollment_id for n in nudges}).values(
                "pk", "status", "due_at", "course_id", "last_activity_id", "course__title"
            )
        }
        people = _people({n.recipient_id for n in nudges} | {n.person_id for n in nudges})
        opted_out, unsubscribed = _preferences({n.recipient_id for n in nudges})
        first = _first_activities({e["course_id"] for e in enrollments.values()})
        tenant_ids = {n.tenant_id for n in nudges}
        endpoints: dict[tuple[int, str], list[int]] = {}
        for pk, tenant_id, kind in WebhookEndpoint.objects.filter(
            tenant_id__in=tenant_ids, is_active=True
        ).values_list("pk", "tenant_id", "kind"):
            endpoints.setdefault((tenant_id, kind), []).append(pk)
        tenant_language = dict(
            Tenant.objects.filter(pk__in=tenant_ids).values_list("pk", "language")
        )

        outbox_rows: list[tuple[Any, ...]] = []
        deliveries: list[dict[str, Any]] = []
        drafts: dict[int, list[Draft]] = {}

        def log(
            n: Nudge,
            channel: str,
            status: str,
            reason: str = "",
            subject: str = "",
            key: str = "",
            overridden: bool = False,
        ) -> None:
            deliveries.append(
                {
                    "nudge": n,
                    "channel": channel,
                    "status": status,
                    "reason": reason,
                    "subject": subject,
                    "key": key,
                    "overridden": overridden,
                }
            )

        for n in nudges:
            campaign = campaigns.get(n.campaign_id)
            if campaign is None:  # no database constraint (ADR 0024): gone means no longer due
                n.status, n.reason = Nudge.Status.SUPPRESSED, rules.Reason.NO_LONGER_APPLIES
                continue
            wanted = channels_for(campaign, n.arm)
            enrollment = enrollments.get(n.enrollment_id)
            recipient = people.get(n.recipient_id)
            learner = people.get(n.person_id)
            if n.status == Nudge.Status.SUPPRESSED:
                for ch in wanted:
                    log(n, ch, Delivery.Status.SUPPRESSED, n.reason)
                continue
            if (
                enrollment is None
                or recipient is None
                or learner is None
                or not recipient.is_active
                or not rules.still_applies(
                    campaign.trigger, status=enrollment["status"], escalation=n.is_escalation
                )
            ):
                n.status, n.reason = Nudge.Status.SUPPRESSED, rules.Reason.NO_LONGER_APPLIES
                for ch in wanted:
                    log(n, ch, Delivery.Status.SUPPRESSED, n.reason)
                continue
            verdicts = rules.channel_verdicts(
                wanted,
                opted_out=frozenset(opted_out.get(recipient.pk, set())),
                unsubscribed=recipient.pk in unsubscribed,
                mandatory=campaign.mandatory,
                has_email=bool(recipient.email),
            )
            subject, body = _message_for(
                campaign, n.arm, recipient.language, tenant_language.get(n.tenant_id, "en")
            )
            if n.is_escalation:
                link = channels.absolute(reverse("nudges:team"))
            else:
                link = learner_link(
                    enrollment["pk"],
                    enrollment["course_id"],
                    enrollment["last_activity_id"] or first.get(enrollment["course_id"]),
                )
            content = channels.compose(
                trigger=campaign.trigger,
                escalation=n.is_escalation,
                subject=subject,
                body=body,
                language=recipient.language,
                first_name=recipient.first_name,
                learner=learner.full_name,
                course=enrollment["course__title"],
                due_at=enrollment["due_at"],
                time_zone=recipient.time_zone,
                link=link,
                notice=any(v.overridden for v in verdicts),
            )
            for v in verdicts:
                if not v.send:
                    log(n, v.channel, Delivery.Status.SUPPRESSED, v.reason)
                    continue
                if v.channel == "email":
                    ics = None
                    if campaign.attach_calendar and not n.is_escalation:
                        ics = _calendar(
                            nudge=n,
                            enrollment=enrollment,
                            recipient=recipient,
                            content=content,
                            now=now,
                        )
                    unsubscribe = (
                        None
                        if campaign.mandatory
                        else channels.unsubscribe_url(recipient.pk, n.tenant_id)
                    )
                    text, html, headers, attachments = channels.email_parts(
                        content, unsubscribe=unsubscribe, ics=ics
                    )
                    key = f"nudge:{n.pk}:email"
                    # A stable Message-ID: should a worker die between the SMTP server's "250"
                    # and its commit, the resent copy is recognisably the same message.
                    headers["Message-ID"] = f"<nudge-{n.pk}-email@{channels.mail_domain()}>"
                    outbox_rows.append(
                        (
                            n.tenant_id,
                            "email",
                            key,
                            {
                                "to": [recipient.email],
                                "subject": content.subject,
                                "text": text,
                                "html": html,
                                "headers": headers,
                                "attachments": attachments,
                            },
                        )
                    )
                    log(
                        n,
                        "email",
                        Delivery.Status.QUEUED,
                        subject=content.subject,
                        key=key,
                        overridden=v.overridden,
                    )
                elif v.channel == "in_app":
                    drafts.setdefault(n.tenant_id, []).append(
                        Draft(
                            person_id=recipient.pk,
                            kind=f"nudge_{campaign.trigger}",
                            title=content.subject,
                            body=content.body + (f"\n\n{content.notice}" if content.notice else ""),
                            url=link,
                            key=f"nudge:{n.pk}",
                        )
                    )
                    log(
                        n,
                        "in_app",
                        Delivery.Status.SENT,
                        subject=content.subject,
                        overridden=v.overridden,
                    )
                elif v.channel in ("teams", "slack"):
                    targets = endpoints.get((n.tenant_id, v.channel), [])
                    if not targets:
                        log(n, v.channel, Delivery.Status.SUPPRESSED, rules.Reason.NO_ADDRESS)
                        continue
                    mention = recipient.full_name
                    payload = (
                        channels.teams_card(content, mention=mention)
                        if v.channel == "teams"
                        else channels.slack_message(content, mention=mention)
                    )
                    key = ""
                    for endpoint_id in targets:
                        k = f"nudge:{n.pk}:{v.channel}:{endpoint_id}"
                        key = key or k
                        outbox_rows.append(
                            (
                                n.tenant_id,
                                "webhook",
                                k,
                                {"endpoint_id": endpoint_id, "body": payload},
                            )
                        )
                    log(
                        n,
                        v.channel,
                        Delivery.Status.QUEUED,
                        subject=content.subject,
                        key=key,
                        overridden=v.overridden,
                    )
            n.status = Nudge.Status.DISPATCHED

        for tenant_id, items in drafts.items():
            notify_each(tenant_id=tenant_id, drafts=items, email=False)
        ids_by_key = outbox.insert_many(outbox_rows)
        insert_rows(
            Delivery,
            [
                "tenant",
                "nudge",
                "recipient",
                "campaign",
                "channel",
                "status",
                "reason",
                "overridden",
                "subject",
                "outbox_message",
                "sent_at",
                "created_at",
                "updated_at",
            ],
            [
                (
                    d["nudge"].tenant_id,
                    d["nudge"].pk,
                    d["nudge"].recipient_id,
                    d["nudge"].campaign_id,
                    d["channel"],
                    d["status"],
                    d["reason"],
                    d["overridden"],
                    d["subject"][:300],
                    ids_by_key.get(d["key"]) if d["key"] else None,
                    now if d["status"] == Delivery.Status.SENT else None,
                    now,
                    now,
                )
                for d in deliveries
            ],
            ignore_conflicts=True,
        )
        for status in (Nudge.Status.DISPATCHED, Nudge.Status.SUPPRESSED):
            for reason in {n.reason for n in nudges if n.status == status}:
                Nudge.objects.filter(
                    pk__in=[n.pk for n in nudges if n.status == status and n.reason == reason]
                ).update(status=status, reason=reason, dispatched_at=now, updated_at=now)
        outbox_ids = [ids_by_key[row[2]] for row in outbox_rows if row[2] in ids_by_key]

        def enqueue() -> None:
            for part in chunks(outbox_ids, 100):
                deliver_nudge_messages.enqueue(list(part))

        transaction.on_commit(enqueue)
        return len(nudges)


def dispatch_due(*, now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Dispatch every due nudge, batch by batch; returns how many were handled."""
    now = now or clock.now()
    total = 0
    while True:
        handled = dispatch_batch(now=now, limit=limit)
        total += handled
        if handled < limit:
            return total
