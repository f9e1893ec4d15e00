"""The outbox: write what must leave the process in the caller's transaction, deliver after commit.

Delivery is lease-then-send (ADR 0013): a worker claims a batch of due messages in one short
transaction (status "sending", its own `lease_owner`, `lease_until`), sends them outside any
transaction (emails over one SMTP session), and records each result the moment it is known in
one short statement. So workers never hold a lock (or SQLite's write lock) while talking to a
mail server, and a message is sent once: a claimed message belongs to one worker; a worker that
dies leaves its claimed messages to `release_abandoned_leases` (lease over, or its process gone)
and the next delivery. The one unavoidable window: the server accepted a message and the worker
died before recording it; that message is sent again with the same Message-ID (at-least-once).

A message whose delivery failed is retried with exponential backoff by `retry_due_messages`
(scheduled every minute), and marked failed after MAX_ATTEMPTS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from uptake.core import clock
from uptake.core.models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How many messages one claim takes, and for how long: long enough for a batch over a slow
# server (each send is bounded by SEND_TIMEOUT), short enough that a lost worker's messages
# on another machine go out again within minutes.
BATCH = 100
LEASE = dt.timedelta(minutes=5)
SEND_TIMEOUT = 30  # seconds, for SMTP when settings.EMAIL_TIMEOUT is not set
SMTP_SESSIONS = 4  # per batch, in threads (settings.OUTBOX_SMTP_SESSIONS)

# Other channels (e.g. "webhook") register a sender from their AppConfig.ready(): a callable
# that delivers one message or raises (the failure is recorded and retried with backoff).
SENDERS: dict[str, Callable[[OutboxMessage], None]] = {}


def register_sender(channel: str, sender: Callable[[OutboxMessage], None]) -> None:
    SENDERS[channel] = sender


def with_raw_email(idempotency_key: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An email's payload with its ready RFC 5322 text ("raw"), its envelope sender
    ("mail_from") and recipients ("rcpt"), composed once here so the worker only hands the
    bytes to the SMTP server (ADR 0016). A payload that cannot be composed (e.g. an address
    that does not parse) is left as it is: delivery then fails with that reason, recorded."""
    if "raw" in payload:
        return payload
    from uptake.core import mime

    try:
        from_email = settings.DEFAULT_FROM_EMAIL
        to = list(payload["to"])
        raw = mime.compose(
            from_email=from_email,
            to=to,
            subject=payload.get("subject") or "",
            text=payload.get("text") or "",
            html=payload.get("html"),
            headers=payload.get("headers") or {},
            attachments=payload.get("attachments") or (),
            message_id=mime.message_id(
                idempotency_key,
                mime.message_id_domain(getattr(settings, "UPTAKE_BASE_URL", "")),
            ),
            date=clock.now(),
        )
        envelope = (mime.envelope_address(from_email), [mime.envelope_address(a) for a in to])
    except Exception:  # delivery reports it through the general path
        logger.warning("outbox: email %s could not be composed", idempotency_key, exc_info=True)
        return payload
    return {**payload, "raw": raw, "mail_from": envelope[0], "rcpt": envelope[1]}


def enqueue(
    *, tenant_id: int, channel: str, idempotency_key: str, payload: dict[str, Any]
) -> OutboxMessage | None:
    """Queue a message for a registered channel; None if this key was already queued."""
    if channel == "email":
        payload = with_raw_email(idempotency_key, payload)
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
            (
                tenant_id,
                channel,
                key,
                with_raw_email(key, payload) if channel == "email" else payload,
                OutboxMessage.Status.PENDING,
                0,
                "",
                now,
                now,
            )
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


def email_connection() -> Any:
    """A connection of the configured email backend, with a timeout (a send never hangs for
    longer than a lease allows)."""
    return get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or SEND_TIMEOUT)


def _send(message: OutboxMessage, connection: Any = None) -> None:
    if message.channel in SENDERS:
        SENDERS[message.channel](message)
        return
    if message.channel != "email":
        raise ValueError(f"Unknown outbox channel {message.channel!r}")
    p = message.payload
    if "raw" in p and connection is not None and isinstance(connection, SMTPBackend):
        # Composed at enqueue (ADR 0016): one SMTP transaction, nothing built here.
        if connection.connection is None:
            connection.open()
        smtp = connection.connection
        if smtp is None:  # open() failed silently (fail_silently backends)
            raise ConnectionError("Could not connect to the SMTP server.")
        smtp.sendmail(p["mail_from"], p["rcpt"], p["raw"].encode("ascii"))
        return
    email = EmailMultiAlternatives(
        subject=p["subject"],
        body=p["text"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=p["to"],
        headers=p.get("headers") or {},
        connection=connection or email_connection(),
    )
    if p.get("html"):
        email.attach_alternative(p["html"], "text/html")
    for attachment in p.get("attachments") or []:
        email.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    email.send(fail_silently=False)


# --- Lease-then-send -------------------------------------------------------------------------


def _new_owner() -> str:
    """Who holds a lease: this machine, this process (so a lease of a process that is gone can
    be released at once, see `release_abandoned_leases`) and a token for this claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def claim(
    *, ids: Iterable[int] | None = None, limit: int = BATCH, now: dt.datetime | None = None
) -> tuple[str, list[OutboxMessage]]:
    """Lease up to `limit` pending, due messages (of `ids`, if given) to a new owner, in one
    short transaction. Returns the owner and the claimed messages, oldest first. On PostgreSQL
    rows another worker is claiming are skipped (SKIP LOCKED); on SQLite the transaction holds
    the write lock (IMMEDIATE) for these two statements only."""
    now = now or clock.now()
    owner = _new_owner()
    qs = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, available_at__lte=now)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    with transaction.atomic():
        pending = qs.order_by("available_at", "pk")
        if connection.vendor == "postgresql":
            pending = pending.select_for_update(skip_locked=True)
        picked = list(pending.values_list("pk", flat=True)[:limit])
        if not picked:
            return owner, []
        OutboxMessage.objects.filter(pk__in=picked, status=OutboxMessage.Status.PENDING).update(
            status=OutboxMessage.Status.SENDING,
            lease_owner=owner,
            lease_until=now + LEASE,
            attempts=F("attempts") + 1,
        )
    messages = list(
        OutboxMessage.objects.filter(pk__in=picked, lease_owner=owner).order_by(
            "available_at", "pk"
        )
    )
    return owner, messages


def _record_sent(owner: str, message: OutboxMessage) -> str:
    # One statement by primary key, written out (the ORM's query building cost more CPU than
    # the statement itself: this runs once per email, ADR 0016).
    table = OutboxMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, last_error = '', lease_owner = '',"  # noqa: S608
            " lease_until = NULL WHERE id = %s AND lease_owner = %s",
            [
                OutboxMessage.Status.SENT,
                connection.ops.adapt_datetimefield_value(clock.now()),
                message.pk,
                owner,
            ],
        )
        done = cursor.rowcount
    if not done:  # the lease was taken from us (it ran out): the other worker records it
        logger.warning("outbox message %s sent after its lease ran out", message.idempotency_key)
    return OutboxMessage.Status.SENT


def _record_failure(owner: str, message: OutboxMessage, error: str) -> str:
    logger.warning("outbox delivery of %s failed: %s", message.idempotency_key, error)
    if message.attempts >= MAX_ATTEMPTS:
        status, available_at = OutboxMessage.Status.FAILED, message.available_at
    else:
        status = OutboxMessage.Status.PENDING
        available_at = clock.now() + dt.timedelta(seconds=30 * 2 ** (message.attempts - 1))
    OutboxMessage.objects.filter(pk=message.pk, lease_owner=owner).update(
        status=status,
        last_error=error[:2000],
        available_at=available_at,
        lease_owner="",
        lease_until=None,
    )
    return status


def release(owner: str, ids: Sequence[int]) -> int:
    """Hand claimed messages that were not tried back to pending (the claim's attempt undone)."""
    if not ids:
        return 0
    return OutboxMessage.objects.filter(
        pk__in=list(ids), lease_owner=owner, status=OutboxMessage.Status.SENDING
    ).update(
        status=OutboxMessage.Status.PENDING,
        lease_owner="",
        lease_until=None,
        attempts=F("attempts") - 1,
    )


def send_claimed(
    owner: str, messages: Sequence[OutboxMessage], connection: Any = None
) -> dict[int, str]:
    """Send messages claimed by `owner`, outside any transaction, recording each result as
    soon as it is known (a crash then resends at most the message in flight). Emails share
    `connection` (one SMTP session); a broken session is reopened for the next message. Stops
    early, handing the rest back, when the lease is about to run out."""
    results: dict[int, str] = {}
    margin = dt.timedelta(seconds=getattr(settings, "EMAIL_TIMEOUT", None) or SEND_TIMEOUT)
    tried = 0
    try:
        for message in messages:
            assert message.lease_until is not None  # claimed
            if clock.now() + margin >= message.lease_until:
                break
            tried += 1
            try:
                if connection is not None and message.channel == "email":
                    # Opened here, the session outlives each send (a backend opened by
                    # send_messages itself closes it again: one SMTP session per message).
                    connection.open()
                _send(message, connection)
            except Exception as exc:  # any transport failure is recorded and retried
                results[message.pk] = _record_failure(owner, message, str(exc) or repr(exc))
                if connection is not None and message.channel == "email":
                    # The next email opens a fresh session (closing a broken one may raise).
                    with contextlib.suppress(Exception):
                        connection.close()
            else:
                results[message.pk] = _record_sent(owner, message)
    finally:
        rest = [m.pk for m in messages[tried:]]
        release(owner, rest)
        results.update(dict.fromkeys(rest, OutboxMessage.Status.PENDING))
    return results


def deliver_many(message_ids: Sequence[int], *, connection: Any = None) -> dict[int, str]:
    """Deliver those of these messages that are pending and due: claimed BATCH at a time, sent
    over one email connection (`connection`, or one opened here). Returns each message's
    resulting status ("missing" for an unknown id); a message another worker holds, or not
    due yet, keeps its status."""
    wanted = list(dict.fromkeys(message_ids))
    results: dict[int, str] = {}
    own = connection is None
    sessions = _parallel_sessions() if own else 1
    if own and sessions == 1:
        connection = email_connection()
    try:
        for start in range(0, len(wanted), BATCH):
            part = wanted[start : start + BATCH]
            owner, messages = claim(ids=part, limit=len(part))
            if sessions > 1 and len(messages) > 1:
                results.update(_send_in_parallel(owner, messages, sessions))
            else:
                results.update(send_claimed(owner, messages, connection))
    finally:
        if connection is not None and own:
            connection.close()
    missing = [pk for pk in wanted if pk not in results]
    if missing:
        current = dict(OutboxMessage.objects.filter(pk__in=missing).values_list("pk", "status"))
        for pk in missing:
            results[pk] = current.get(pk, "missing")
    return results


def _parallel_sessions() -> int:
    """How many SMTP sessions a batch is spread over (OUTBOX_SMTP_SESSIONS, default 4): each
    waits on the server's replies while the others send. One when called inside a
    transaction: the sending threads have their own database connections and could not see
    its rows."""
    if connection.in_atomic_block:
        return 1
    return max(1, int(getattr(settings, "OUTBOX_SMTP_SESSIONS", SMTP_SESSIONS)))


def _send_in_parallel(
    owner: str, messages: Sequence[OutboxMessage], sessions: int
) -> dict[int, str]:
    """`send_claimed` over `sessions` SMTP sessions in threads, the messages dealt round-robin;
    each thread records its own results over its own database connection (closed after)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def run(share: Sequence[OutboxMessage]) -> dict[int, str]:
        session = email_connection()
        try:
            return send_claimed(owner, share, session)
        finally:
            with contextlib.suppress(Exception):
                session.close()
            connections.close_all()

    shares = [list(messages[i::sessions]) for i in range(min(sessions, len(messages)))]
    results: dict[int, str] = {}
    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        for part in pool.map(run, shares):
            results.update(part)
    return results


def deliver(message_id: int, connection: Any = None) -> str:
    """Deliver one message if it is still pending and due. Returns its resulting status.
    `connection`: an open email connection to reuse (a batch sends over one SMTP session)."""
    return deliver_many([message_id], connection=connection)[message_id]


def _owner_gone(owner: str) -> bool:
    """True when the lease's process is known to be gone: it ran on this machine and no
    process has its id any more. (Anything else waits for the lease to run out.)"""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. another user's live process
        return False
    return False


def release_abandoned_leases(*, now: dt.datetime | None = None) -> int:
    """Return to pending the messages whose worker stopped while holding them: the lease ran
    out, or its process is gone. A message whose deliveries keep killing the worker is marked
    failed after MAX_ATTEMPTS. Returns how many were released."""
    now = now or clock.now()
    sending = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING)
    owners = {
        owner
        for owner, until in sending.values_list("lease_owner", "lease_until").distinct()
        if until is None or until <= now or _owner_gone(owner)
    }
    released = 0
    for owner in owners:
        mine = sending.filter(lease_owner=owner)
        mine.filter(attempts__gte=MAX_ATTEMPTS).update(
            status=OutboxMessage.Status.FAILED,
            last_error="The worker delivering it stopped, too many times.",
            lease_owner="",
            lease_until=None,
        )
        released += mine.update(
            status=OutboxMessage.Status.PENDING,
            last_error="The worker delivering it stopped before recording the result.",
            lease_owner="",
            lease_until=None,
        )
    if released:
        logger.warning("outbox: %s messages of stopped workers returned to pending", released)
    return released


def retry_due_messages(limit: int = 500) -> int:
    """Deliver pending messages that are due (retries, any whose task was lost, and those of
    workers that stopped mid-batch), BATCH at a time over one email connection. Returns how
    many were tried."""
    release_abandoned_leases()
    total = 0
    connection = email_connection()
    try:
        while total < limit:
            owner, messages = claim(limit=min(BATCH, limit - total))
            if not messages:
                break
            send_claimed(owner, messages, connection)
            total += len(messages)
    finally:
        connection.close()
    return total
