"""Notifications: bulk and idempotent, the person's own list and unread count, mark read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import PersonFactory
from uptake.core.models import OutboxMessage
from uptake.notifications import selectors, services

pytestmark = pytest.mark.django_db


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def test_notify_is_idempotent_per_key_and_queues_one_email_each(tenant):
    people = PersonFactory.create_batch(2, tenant=tenant)
    ids = [p.pk for p in people]
    for _ in range(2):
        services.notify(
            tenant_id=tenant.pk,
            person_ids=ids,
            kind="test",
            title="Hello",
            body="Body",
            url="/",
            idempotency_key_prefix="hello:1",
        )
    assert [selectors.unread_count(person=p) for p in people] == [1, 1]
    assert sorted(OutboxMessage.objects.values_list("idempotency_key", flat=True)) == sorted(
        f"notification:hello:1:{pid}" for pid in ids
    )


def test_large_batches_go_through_the_outbox_in_bulk(
    tenant, django_capture_on_commit_callbacks, mailoutbox
):
    people = PersonFactory.create_batch(60, tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        created = services.notify(
            tenant_id=tenant.pk,
            person_ids=[p.pk for p in people],
            kind="test",
            title="Hi",
            body="Body",
            idempotency_key_prefix="bulk",
        )
    assert created == 60
    assert OutboxMessage.objects.filter(status="sent").count() == 60
    assert len(mailoutbox) == 60


def test_a_person_lists_and_marks_their_own_notifications(tenant, other_tenant):
    me, other = PersonFactory(tenant=tenant), PersonFactory(tenant=tenant)
    for person in (me, other):
        services.notify(
            tenant_id=tenant.pk,
            person_ids=[person.pk],
            kind="t",
            title=f"For {person.pk}",
            body="",
            idempotency_key_prefix="x",
            email=False,
        )
    client = client_for(me)
    listed = client.get("/api/v1/notifications").json()
    assert [n["title"] for n in listed["items"]] == [f"For {me.pk}"]
    theirs = selectors.list_notifications(person=other).get()
    refused = client.post(
        "/api/v1/notifications/read",
        json.dumps({"ids": [theirs.pk]}),
        content_type="application/json",
    )
    assert refused.status_code == 404
    done = client.post(
        "/api/v1/notifications/read", json.dumps({}), content_type="application/json"
    )
    assert done.json() == {"marked": 1, "unread": 0}
    assert selectors.unread_count(person=other) == 1


def test_the_nav_shows_the_unread_count_and_the_list_page_renders(tenant):
    me = PersonFactory(tenant=tenant)
    services.notify(
        tenant_id=tenant.pk,
        person_ids=[me.pk],
        kind="t",
        title="Ann was assigned",
        body="Line",
        idempotency_key_prefix="n",
        email=False,
    )
    client = client_for(me)
    page = client.get("/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ann was assigned" in html
    assert 'hx-get="/notifications/badge/"' in html  # the nav loads the count after the page
    badge = client.get("/notifications/badge/").content.decode()
    assert '1<span class="sr-only"> unread</span>' in badge
