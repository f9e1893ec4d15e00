from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine
from django.db import transaction

from uptake.core import bus, outbox
from uptake.core.models import OutboxMessage

pytestmark = pytest.mark.django_db


def _queue(tenant, key="welcome:1"):
    return outbox.enqueue_email(
        tenant_id=tenant.pk,
        idempotency_key=key,
        to=["noah@acme.test"],
        subject="Welcome to Sales Starter",
        text="Three short courses, due the 19th.",
        html="<p>Three short courses, due the <strong>19th</strong>.</p>",
        headers={"X-Uptake-Kind": "welcome"},
    )


def test_queued_email_is_delivered_over_smtp_after_commit_exactly_once(
    tenant, smtp_mail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = _queue(tenant)
        assert smtp_mail.messages == []  # nothing leaves before commit
    assert message is not None
    smtp_mail.wait_for(1)
    [received] = smtp_mail.messages
    assert received.subject == "Welcome to Sales Starter"
    assert received.rcpt_tos == ["noah@acme.test"]
    assert received.message["X-Uptake-Kind"] == "welcome"
    assert "due the 19th" in received.text()
    assert "<strong>19th</strong>" in received.html()
    # A second delivery of the same message, or a second enqueue with the same key, sends nothing.
    assert outbox.deliver(message.pk) == "sent"
    assert _queue(tenant) is None
    assert len(smtp_mail.messages) == 1


def test_rolled_back_change_sends_nothing(tenant, smtp_mail, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                _queue(tenant)
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
    assert OutboxMessage.objects.count() == 0
    assert smtp_mail.messages == []


def test_failed_delivery_backs_off_and_the_sweep_retries_it(tenant, smtp_mail, settings):
    settings.EMAIL_PORT = 1  # nothing listens there: the send fails
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False):
        message = _queue(tenant)
        assert message is not None
        assert outbox.deliver(message.pk) == "pending"
        message.refresh_from_db()
        assert message.attempts == 1
        assert message.last_error
        assert message.available_at == dt.datetime(2026, 11, 23, 9, 0, 30, tzinfo=dt.UTC)
        assert outbox.retry_due_messages() == 0  # not due yet
    settings.EMAIL_PORT = smtp_mail.port
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 1, tzinfo=dt.UTC), tick=False):
        assert outbox.retry_due_messages() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert len(smtp_mail.messages) == 1


def test_a_message_that_keeps_failing_is_marked_failed_after_the_last_attempt(tenant, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    message = _queue(tenant)
    assert message is not None
    for _ in range(outbox.MAX_ATTEMPTS):
        OutboxMessage.objects.filter(pk=message.pk).update(
            available_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        )
        outbox.deliver(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", outbox.MAX_ATTEMPTS)


@dataclass(frozen=True)
class _Happened:
    n: int


def test_domain_events_reach_their_handlers_only_after_commit(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    seen: list[int] = []
    monkeypatch.setitem(bus._subscriptions(), _Happened, [lambda e: seen.append(e.n)])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        bus.publish(_Happened(1))
        assert seen == []
    assert seen == [1]
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                bus.publish(_Happened(2))
                raise RuntimeError
        except RuntimeError:
            pass
    assert seen == [1]
