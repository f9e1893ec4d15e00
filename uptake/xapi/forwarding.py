"""Forwarding the organisation's own learning events to an external LRS, through the outbox.

An organisation sets an LRS (endpoint, key, secret): from then on, every learning event of the
fact table (assigned, launched, completed, passed, ...) is sent there as an xAPI statement
(`forwarding_rules.statement_for`). A periodic sweep (`forward_learning_events`, every minute)
reads the events after the tenant's cursor, queues them in batches of up to 100 statements as
outbox messages (channel "xapi-forward") and moves the cursor, in one transaction: a crash
loses nothing and queues nothing twice. The outbox delivers each batch with one POST
/statements (HTTP Basic, X-Experience-API-Version 1.0.3) and retries failures with backoff;
statement ids are derived from the events, so a batch sent twice is stored once by the LRS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import Count

from uptake.core import bulk, outbox
from uptake.core.actor import Actor
from uptake.core.errors import NotFound, ValidationFailed
from uptake.core.models import OutboxMessage
from uptake.xapi import forwarding_rules
from uptake.xapi.models import Forwarding

CHANNEL = "xapi-forward"
BATCH = 100  # statements per POST
SWEEP_LIMIT = 5000  # events per tenant per sweep (the next sweep takes the rest)
TIMEOUT = 15  # seconds per POST


# --- the setting ----------------------------------------------------------------------------


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"uptake.xapi.forwarding:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # the SECRET_KEY changed: the secret must be entered again
        raise ValueError("The LRS secret cannot be decrypted; enter it again.") from exc


def endpoint_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Enter the LRS's xAPI endpoint as a full URL, e.g. https://lrs.example.com/xapi/."
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return "The LRS endpoint must use https:// (http is only accepted on this machine)."
    if parts.query or parts.fragment:
        return "The LRS endpoint cannot have a query string or fragment."
    return None


def _last_event_id(tenant_id: int) -> int:
    from uptake.analytics.models import LearningEvent

    # Newest first along the primary key, stopping at the tenant's first: no index on the
    # tenant alone is needed (a MAX over a (tenant, ...) index would read every entry).
    found = (
        LearningEvent.objects.filter(tenant_id=tenant_id)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return int(found or 0)


def configure_forwarding(
    *,
    actor: Actor,
    tenant_id: int,
    endpoint: str,
    key: str,
    secret: str | None,
    is_active: bool = True,
) -> Forwarding:
    """Set (or change) the LRS the organisation's learning events go to. `secret` None keeps
    the stored one. Events are forwarded from the moment forwarding is turned on (events
    before that are not sent)."""
    endpoint = (endpoint or "").strip()
    key = (key or "").strip()
    problem = endpoint_problem(endpoint)
    if problem:
        raise ValidationFailed(problem)
    if not key:
        raise ValidationFailed("Enter the key (user name) of the LRS credential.")
    if secret is not None and not secret:
        raise ValidationFailed("Enter the secret (password) of the LRS credential.")
    with transaction.atomic():
        current = Forwarding.objects.select_for_update().filter(tenant_id=tenant_id).first()
        if current is None:
            if secret is None:
                raise ValidationFailed("Enter the secret (password) of the LRS credential.")
            return Forwarding.objects.create(
                tenant_id=tenant_id,
                endpoint=endpoint[:500],
                key=key[:200],
                secret_encrypted=_fernet().encrypt(secret.encode()).decode(),
                is_active=is_active,
                last_event_id=_last_event_id(tenant_id),
            )
        if is_active and not current.is_active:
            current.last_event_id = _last_event_id(tenant_id)  # from now on, as when created
        current.endpoint = endpoint[:500]
        current.key = key[:200]
        if secret is not None:
            current.secret_encrypted = _fernet().encrypt(secret.encode()).decode()
        current.is_active = is_active
        current.save()
        return current


def remove_forwarding(*, actor: Actor, tenant_id: int) -> None:
    """Stop forwarding and forget the LRS and its secret (batches not yet sent are not sent)."""
    deleted, _ = Forwarding.objects.filter(tenant_id=tenant_id).delete()
    if not deleted:
        raise NotFound("This organisation does not forward its learning events to an LRS.")


def forwarding_of(*, tenant_id: int) -> Forwarding | None:
    return Forwarding.objects.filter(tenant_id=tenant_id).first()


def delivery_state(*, tenant_id: int) -> dict[str, Any]:
    """Batches waiting, sent and given up, and the last delivery error (for the admin)."""
    messages = OutboxMessage.objects.filter(tenant_id=tenant_id, channel=CHANNEL)
    state = dict(
        messages.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    last = messages.exclude(last_error="").order_by("-pk").values_list("last_error", flat=True)
    return {
        "pending_batches": state.get(OutboxMessage.Status.PENDING, 0),
        "sent_batches": state.get(OutboxMessage.Status.SENT, 0),
        "failed_batches": state.get(OutboxMessage.Status.FAILED, 0),
        "last_error": next(iter(last[:1]), ""),
    }


# --- the sweep ------------------------------------------------------------------------------


def forward_learning_events(*, limit: int = SWEEP_LIMIT) -> int:
    """Queue the learning events after each active forwarding's cursor; returns how many."""
    ids = list(Forwarding.objects.filter(is_active=True).values_list("pk", flat=True))
    return sum(_forward(forwarding_id, limit) for forwarding_id in ids)


def _facts(tenant_id: int, after: int, limit: int) -> list[forwarding_rules.EventFacts]:
    from uptake.analytics.models import LearningEvent
    from uptake.catalog.models import Activity, Course
    from uptake.people.models import Person

    events = list(
        LearningEvent.objects.filter(tenant_id=tenant_id, pk__gt=after)
        .order_by("pk")
        .values_list(
            "pk", "verb", "object_type", "object_id", "course_id", "occurred_at", "value",
            "person_id",
        )[:limit]
    )  # fmt: skip
    if not events:
        return []
    people = {
        row[0]: row[1:]
        for row in bulk.rows_for(
            Person.objects.filter(tenant_id=tenant_id),
            "pk",
            {e[7] for e in events},
            "pk", "first_name", "last_name", "email", "employee_id", "language",
            scan=False,
        )
    }  # fmt: skip
    courses = dict(
        bulk.rows_for(
            Course.objects.filter(tenant_id=tenant_id),
            "pk",
            {e[4] for e in events if e[4] is not None},
            "pk",
            "title",
            scan=False,
        )
    )
    activities = {
        row[0]: row[1:]
        for row in bulk.rows_for(
            Activity.objects.filter(tenant_id=tenant_id),
            "pk",
            {e[3] for e in events if e[2] == "activity" and e[3] is not None},
            "pk",
            "title",
            "kind",
            scan=False,
        )
    }
    out = []
    for pk, verb, object_type, object_id, course_id, occurred_at, value, person_id in events:
        first, last, email, employee_id, language = people.get(person_id, ("", "", "", "", "en"))
        title, kind = activities.get(object_id, ("", "")) if object_type == "activity" else ("", "")
        out.append(
            forwarding_rules.EventFacts(
                event_id=pk,
                tenant_id=tenant_id,
                verb=verb,
                object_type=object_type,
                object_id=object_id,
                course_id=course_id,
                occurred_at=occurred_at,
                value=value,
                person_name=f"{first} {last}".strip(),
                person_email=email,
                person_employee_id=employee_id,
                person_id=person_id,
                course_title=courses.get(course_id, "") if course_id is not None else "",
                activity_title=title,
                activity_kind=kind,
                language=language or "en",
            )
        )
    return out


def _forward(forwarding_id: int, limit: int) -> int:
    base_url = str(settings.UPTAKE_BASE_URL)
    with transaction.atomic():
        forwarding = (
            Forwarding.objects.select_for_update().filter(pk=forwarding_id, is_active=True).first()
        )
        if forwarding is None:
            return 0
        facts = _facts(forwarding.tenant_id, forwarding.last_event_id, limit)
        if not facts:
            return 0
        for start in range(0, len(facts), BATCH):
            part = facts[start : start + BATCH]
            outbox.enqueue(
                tenant_id=forwarding.tenant_id,
                channel=CHANNEL,
                idempotency_key=(
                    f"xapi-forward:{forwarding.pk}:{part[0].event_id}-{part[-1].event_id}"
                ),
                payload={
                    "forwarding_id": forwarding.pk,
                    "statements": [
                        forwarding_rules.statement_for(f, base_url=base_url) for f in part
                    ],
                },
            )
        forwarding.last_event_id = facts[-1].event_id
        forwarding.save(update_fields=["last_event_id", "updated_at"])
        return len(facts)


# --- delivery (the outbox's sender for CHANNEL) ---------------------------------------------


def send_statements(message: OutboxMessage) -> None:
    """POST one batch to the LRS. Any answer but 2xx, or no answer, raises: the outbox records
    the error and retries with backoff."""
    payload = message.payload
    forwarding = Forwarding.objects.filter(
        pk=payload.get("forwarding_id"), tenant_id=message.tenant_id
    ).first()
    if forwarding is None or not forwarding.is_active:
        raise ValueError("Forwarding to an LRS was turned off or removed: not sent.")
    credentials = f"{forwarding.key}:{_decrypt(forwarding.secret_encrypted)}"
    url = forwarding.endpoint.rstrip("/") + "/statements"
    request = urllib.request.Request(  # noqa: S310 (scheme checked by endpoint_problem)
        url,
        data=json.dumps(payload["statements"], separators=(",", ":")).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Experience-API-Version": "1.0.3",
            "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise ValueError(f"The LRS answered HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ValueError(f"The LRS could not be reached: {exc}") from exc
    if not 200 <= status < 300:
        raise ValueError(f"The LRS answered HTTP {status}")
