"""The outbox: write what must leave the process in the caller's transaction, deliver after commit.

Delivery is idempotent: a message is sent at most once (row lock + status), and a message whose
delivery failed is retried with exponential backoff by `retry_due_messages` (scheduled).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction

from uptake.core import clock
from uptake.core.models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8

# Other channels (e.g. "webhook") register a sender from their AppConfig.ready(): a callable
# that delivers one message or raises (the failure is recorded and retried with backoff).
SENDERS: dict[str, Callable[[OutboxMessage], None]] = {}


def register_sender(channel: str, sender: Callable[[OutboxMessage], None]) -> None:
    SENDERS[channel] = sender


def enqueue(
    *, tenant_id: int, channel: str, idempotency_key: str, payload: dict[str, Any]
) -> OutboxMessage | None:
    """Queue a message for a registered channel; None if this key was already queued."""
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                tenant_id=tenant_id,
                channel=channel,
                idempotency_key=idempotency_key,
                payload=payload,
                available_at=clock.now(),
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _enqueue_delivery(message.pk))
    return message


def enqueue_email(
    *,
    tenant_id: int,
    idempotency_key: str,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMessage | None:
    """Queue an email; returns None if one with this key was already queued (never twice)."""
    payload: dict[str, Any] = {
        "to": to,
        "subject": subject,
        "text": text,
        "html": html,
        "headers": headers or {},
    }
    return enqueue(
        tenant_id=tenant_id, channel="email", idempotency_key=idempotency_key, payload=payload
    )


def insert_many(rows: Sequence[tuple[int, str, str, dict[str, Any]]]) -> dict[str, int]:
    """Queue thousands of messages, each (tenant id, channel, idempotency key, payload), in one
    insert: a key already queued is not queued again. Returns the message id of every key
    (new or already there). Delivery is the caller's: `deliver_later` or its own sender."""
    from uptake.core.bulk import chunks, insert_rows

    now = clock.now()
    insert_rows(
        OutboxMessage,
        [
            "tenant",
            "channel",
            "idempotency_key",
            "payload",
            "status",
            "attempts",
            "last_error",
            "available_at",
            "created_at",
        ],
        [
            (tenant_id, channel, key, payload, OutboxMessage.Status.PENDING, 0, "", now, now)
            for tenant_id, channel, key, payload in rows
        ],
        ignore_conflicts=True,
    )
    ids: dict[str, int] = {}
    for part in chunks([key for _t, _c, key, _p in rows]):
        ids.update(
            OutboxMessage.objects.filter(idempotency_key__in=part).values_list(
                "idempotency_key", "pk"
            )
        )
    return ids


def _enqueue_delivery(message_id: int) -> None:
    from uptake.core.tasks import deliver_outbox_message

    deliver_outbox_message.enqueue(message_id)


def _send(message: OutboxMessage, connection: Any = None) -> None:
    if message.channel in SENDERS:
        SENDERS[message.channel](message)
        return
    if message.channel != "email":
        raise ValueError(f"Unknown outbox channel {message.channel!r}")
    p = message.payload
    email = EmailMultiAlternatives(
        subject=p["subject"],
        body=p["text"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=p["to"],
        headers=p.get("headers") or {},
        connection=connection,
    )
    if p.get("html"):
        email.attach_alternative(p["html"], "text/html")
    for attachment in p.get("attachments") or []:
        email.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    email.send(fail_silently=False)


def deliver(message_id: int, connection: Any = None) -> str:
    """Deliver one message if it is still pending and due. Returns its resulting status.
    `connection`: an open email connection to reuse (a batch sends over one SMTP session)."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != OutboxMessage.Status.PENDING:
            return message.status if message else "missing"
        if message.available_at > clock.now():
            return message.status
        message.attempts += 1
        try:
            _send(message, connection)
        except Exception as exc:  # any transport failure is recorded and retried
            logger.warning("outbox delivery of %s failed: %s", message.idempotency_key, exc)
            message.last_error = str(exc)[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxMessage.Status.FAILED
            else:
                backoff = dt.timedelta(seconds=30 * 2 ** (message.attempts - 1))
                message.available_at = clock.now() + backoff
        else:
            message.status = OutboxMessage.Status.SENT
            message.sent_at = clock.now()
            message.last_error = ""
        message.save(update_fields=["attempts", "status", "sent_at", "last_error", "available_at"])
        return message.status


def retry_due_messages(limit: int = 500) -> int:
    """Deliver pending messages that are due (retries, and any whose task was lost)."""
    ids = list(
        OutboxMessage.objects.filter(
            status=OutboxMessage.Status.PENDING, available_at__lte=clock.now()
        )
        .order_by("available_at")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in ids:
        deliver(message_id)
    return len(ids)
