"""Writes of notifications: tell people something in the app and, through the outbox, by email.

`notify` sends one message to many people; `notify_each` sends each person their own message
(a manager's digest of their reports). Both are idempotent per key: a retried batch neither
duplicates an in-app row nor sends an email twice."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from uptake.core import clock, outbox
from uptake.core.actor import Actor
from uptake.core.errors import NotFound
from uptake.notifications.models import Notification
from uptake.people.models import Person


@dataclass(frozen=True)
class Draft:
    """One person's message; `key` makes it idempotent (in-app and email)."""

    person_id: int
    kind: str
    title: str
    body: str
    url: str
    key: str
    # The person's address when the caller already read it ("" = no email: none or inactive);
    # None = look it up.
    email: str | None = None


BULK_EMAIL_THRESHOLD = 5  # above this, one insert and one delivery task per 500 messages


def _enqueue_emails_in_bulk(*, tenant_id: int, mails: list[tuple[str, str, str, str]]) -> None:
    """The outbox's enqueue_email for thousands of messages (a full recompute): the same rows
    (unique idempotency keys, so never twice), written in one insert and delivered by batch
    tasks after commit instead of one savepoint and one task per message."""
    from uptake.notifications.tasks import deliver_outbox_batch

    ids = list(
        outbox.insert_many(
            [
                (
                    tenant_id,
                    "email",
                    key,
                    {"to": [to], "subject": subject, "text": text, "html": None, "headers": {}},
                )
                for key, to, subject, text in mails
            ]
        ).values()
    )

    def enqueue() -> None:
        for start in range(0, len(ids), 500):
            deliver_outbox_batch.enqueue(ids[start : start + 500])

    transaction.on_commit(enqueue)


def _absolute(url: str) -> str:
    from django.conf import settings

    base = getattr(settings, "UPTAKE_BASE_URL", "") or getattr(settings, "SITE_URL", "")
    return f"{base.rstrip('/')}{url}" if base and url.startswith("/") else url


@transaction.atomic(savepoint=False)  # part of the caller's transaction
def notify_each(*, tenant_id: int, drafts: list[Draft], email: bool = True) -> int:
    """Create the in-app rows in bulk and queue one email per draft (to people with an email
    address). Drafts whose key was already used are skipped. Returns how many were created."""
    if not drafts:
        return 0
    # One draft per key; the insert skips keys already used (a retried batch) and returns the
    # keys it did write: those drafts are the fresh ones, also under concurrent batches.
    unique: dict[str, Draft] = {}
    unkeyed: list[Draft] = []
    for d in drafts:
        if not d.key:
            unkeyed.append(d)
        else:
            unique.setdefault(d.key, d)
    now = clock.now()
    from uptake.core.bulk import insert_returning

    inserted = {
        key
        for (key,) in insert_returning(
            Notification,
            ["tenant", "person", "kind", "title", "body", "url", "key", "created_at", "updated_at"],
            [
                (tenant_id, d.person_id, d.kind, d.title, d.body, d.url, d.key, now, now)
                for d in [*unique.values(), *unkeyed]
            ],
            ["key"],
            ignore_conflicts=True,
        )
    }
    fresh = [d for d in drafts if (d.key in inserted and unique.get(d.key) is d) or not d.key]
    if email:
        addresses: dict[int, str] = {d.person_id: d.email for d in fresh if d.email is not None}
        wanted = sorted({d.person_id for d in fresh} - set(addresses))
        for start in range(0, len(wanted), 5000):
            addresses.update(
                Person.objects.filter(
                    tenant_id=tenant_id, pk__in=wanted[start : start + 5000], is_active=True
                ).values_list("pk", "email")
            )
        mails = [
            (
                f"notification:{d.key}",
                addresses[d.person_id],
                d.title,
                d.body + (f"\n\n{_absolute(d.url)}\n" if d.url else ""),
            )
            for d in fresh
            if addresses.get(d.person_id)
        ]
        if len(mails) <= BULK_EMAIL_THRESHOLD:
            for key, to, subject, text in mails:
                outbox.enqueue_email(
                    tenant_id=tenant_id, idempotency_key=key, to=[to], subject=subject, text=text
                )
        else:
            _enqueue_emails_in_bulk(tenant_id=tenant_id, mails=mails)
    return len(fresh)


def notify(
    *,
    tenant_id: int,
    person_ids: list[int],
    kind: str,
    title: str,
    body: str,
    url: str = "",
    email: bool = True,
    idempotency_key_prefix: str,
) -> int:
    """Tell many people the same thing; each person's key is f"{prefix}:{person_id}"."""
    return notify_each(
        tenant_id=tenant_id,
        drafts=[
            Draft(
                person_id=pid,
                kind=kind,
                title=title,
                body=body,
                url=url,
                key=f"{idempotency_key_prefix}:{pid}",
            )
            for pid in dict.fromkeys(person_ids)
        ],
        email=email,
    )


def in_language(language: str):  # type: ignore[no-untyped-def]
    """Render a message in the recipient's language (Django falls back where none exists)."""
    return translation.override(language or None)


def mark_read(*, actor: Actor, person: Person, notification_ids: list[int] | None = None) -> int:
    """Mark the person's notifications read (all unread ones when no ids are given).
    Another person's ids answer NotFound."""
    qs = Notification.objects.filter(tenant_id=person.tenant_id, person=person)
    if notification_ids is not None:
        ids = set(notification_ids)
        found = set(qs.filter(pk__in=ids).values_list("pk", flat=True))
        if ids - found:
            raise NotFound(_("There is no notification %(id)s.") % {"id": min(ids - found)})
        qs = qs.filter(pk__in=ids)
    return qs.filter(read_at__isnull=True).update(read_at=clock.now())
