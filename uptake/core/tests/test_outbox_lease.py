"""Lease-then-send (ADR 0013): a worker claims a batch, sends outside any transaction, records
each result; a worker that stops leaves nothing lost and nothing sent twice."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest
import time_machine

from uptake.core import outbox
from uptake.core.models import OutboxMessage

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _queue(tenant, n: int) -> list[int]:
    ids = []
    for i in range(n):
        message = outbox.enqueue_email(
            tenant_id=tenant.pk,
            idempotency_key=f"lease:{i}",
            to=[f"learner{i}@acme.test"],
            subject=f"Reminder {i}",
            text="Your course is due on Friday.",
        )
        assert message is not None
        ids.append(message.pk)
    return ids


def _dead_owner() -> str:
    """The lease owner of a worker process on this machine that has exited."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()}:{int(child.stdout)}:dead"


def test_two_claims_never_take_the_same_message(tenant):
    with time_machine.travel(T0, tick=False):
        ids = _queue(tenant, 5)
        first_owner, first = outbox.claim(limit=2)
        second_owner, second = outbox.claim(limit=10)
    assert [m.pk for m in first] == ids[:2]
    assert [m.pk for m in second] == ids[2:]
    assert first_owner != second_owner
    assert {m.status for m in first + second} == {"sending"}
    assert {m.attempts for m in first + second} == {1}
    assert second[0].lease_until == T0 + outbox.LEASE


def test_a_batch_goes_out_over_one_session_and_each_result_is_recorded(tenant, smtp_mail):
    ids = _queue(tenant, 3)
    statuses = outbox.deliver_many([*ids, 999_999])
    assert statuses == {ids[0]: "sent", ids[1]: "sent", ids[2]: "sent", 999_999: "missing"}
    smtp_mail.wait_for(3)
    assert sorted(m.rcpt_tos[0] for m in smtp_mail.messages) == [
        "learner0@acme.test",
        "learner1@acme.test",
        "learner2@acme.test",
    ]
    rows = OutboxMessage.objects.filter(pk__in=ids)
    assert {(m.status, m.attempts, m.lease_owner, m.lease_until) for m in rows} == {
        ("sent", 1, "", None)
    }
    # Delivered again (a duplicated task): nothing more is sent.
    assert outbox.deliver_many(ids) == dict.fromkeys(ids, "sent")
    assert len(smtp_mail.messages) == 3


def test_messages_of_a_worker_that_died_mid_batch_go_out_once_on_the_next_run(tenant, smtp_mail):
    ids = _queue(tenant, 4)
    owner, claimed = outbox.claim(limit=4)
    # The worker sent the first message and recorded it, then died holding the other three.
    outbox.send_claimed(owner, claimed[:1])
    OutboxMessage.objects.filter(lease_owner=owner).update(lease_owner=_dead_owner())
    smtp_mail.wait_for(1)
    assert outbox.claim()[1] == []  # still leased: nobody else takes them

    assert outbox.retry_due_messages() == 3
    smtp_mail.wait_for(4)
    assert sorted(m.rcpt_tos[0] for m in smtp_mail.messages) == [
        f"learner{i}@acme.test" for i in range(4)
    ]
    assert set(OutboxMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "sent"
    }
    assert OutboxMessage.objects.get(pk=ids[1]).attempts == 2  # the lost try counts


def test_a_lease_held_on_another_machine_waits_until_it_runs_out(tenant):
    with time_machine.travel(T0, tick=False):
        ids = _queue(tenant, 2)
        owner, _claimed = outbox.claim()
        OutboxMessage.objects.filter(lease_owner=owner).update(lease_owner="elsewhere:42:abcd")
        assert outbox.release_abandoned_leases() == 0
    with time_machine.travel(T0 + outbox.LEASE, tick=False):
        assert outbox.release_abandoned_leases() == 2
    rows = OutboxMessage.objects.filter(pk__in=ids)
    assert {(m.status, m.lease_owner) for m in rows} == {("pending", "")}


def test_a_message_that_keeps_killing_its_worker_is_failed_for_good(tenant):
    [pk] = _queue(tenant, 1)
    OutboxMessage.objects.filter(pk=pk).update(
        status="sending",
        attempts=outbox.MAX_ATTEMPTS,
        lease_owner=_dead_owner(),
        lease_until=T0 + dt.timedelta(days=1),
    )
    with time_machine.travel(T0, tick=False):
        outbox.release_abandoned_leases()
    message = OutboxMessage.objects.get(pk=pk)
    assert (message.status, message.lease_owner) == ("failed", "")
    assert "stopped" in message.last_error


def test_a_worker_whose_lease_is_running_out_hands_the_rest_back_unsent(tenant, smtp_mail):
    with time_machine.travel(T0, tick=False):
        ids = _queue(tenant, 2)
        owner, claimed = outbox.claim()
    with time_machine.travel(T0 + outbox.LEASE - dt.timedelta(seconds=5), tick=False):
        assert outbox.send_claimed(owner, claimed) == dict.fromkeys(ids, "pending")
    assert smtp_mail.messages == []
    rows = OutboxMessage.objects.filter(pk__in=ids)
    assert {(m.status, m.attempts, m.lease_owner) for m in rows} == {("pending", 0, "")}


def test_a_batch_whose_smtp_session_broke_still_goes_out(tenant, smtp_mail):
    connection = outbox.email_connection()
    connection.open()
    connection.connection.sock.close()  # the server hung up under us
    ids = _queue(tenant, 3)
    statuses = outbox.deliver_many(ids, connection=connection)
    connection.close()
    assert statuses == dict.fromkeys(ids, "sent")
    smtp_mail.wait_for(3)


@pytest.mark.django_db(transaction=True)
def test_a_batch_spread_over_parallel_smtp_sessions_sends_each_message_once(
    tenant, smtp_mail, settings
):
    settings.OUTBOX_SMTP_SESSIONS = 3
    ids = _queue(tenant, 7)
    assert outbox.deliver_many(ids) == dict.fromkeys(ids, "sent")
    smtp_mail.wait_for(7)
    assert sorted(m.rcpt_tos[0] for m in smtp_mail.messages) == sorted(
        f"learner{i}@acme.test" for i in range(7)
    )
    rows = OutboxMessage.objects.filter(pk__in=ids)
    assert {(m.status, m.attempts, m.lease_owner) for m in rows} == {("sent", 1, "")}
