"""The local stand-ins of tests/plugins/services.py are real and work."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import redis
from django.core import mail


def test_email_sent_by_django_arrives_at_the_smtp_server(smtp_mail):
    msg = mail.EmailMultiAlternatives(
        subject="Your learning path is due soon",
        body="Finish 'Safety basics' by Friday.",
        from_email="Uptake <uptake@example.com>",
        to=["ada@example.com"],
        cc=["manager@example.com"],
    )
    msg.attach_alternative("<p>Finish <b>Safety basics</b> by Friday.</p>", "text/html")
    assert msg.send() == 1

    [received] = smtp_mail.wait_for(1)
    assert received.mail_from == "uptake@example.com"
    assert received.rcpt_tos == ["ada@example.com", "manager@example.com"]
    assert received.subject == "Your learning path is due soon"
    assert received.message["To"] == "ada@example.com"
    assert received.text().strip() == "Finish 'Safety basics' by Friday."
    assert received.html() is not None
    assert "<b>Safety basics</b>" in received.html()


def test_smtp_mail_fixture_starts_with_an_empty_inbox(smtp_mail):
    assert smtp_mail.messages == []


def test_http_receiver_records_a_json_post(http_receiver):
    http_receiver.clear()
    payload = {"event": "enrollment.completed", "person": 42}
    request = urllib.request.Request(
        f"{http_receiver.url}/hooks/crm?source=uptake",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "X-Uptake-Signature": "sha256=abc"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200

    [received] = http_receiver.wait_for(1)
    assert received.method == "POST"
    assert received.path == "/hooks/crm?source=uptake"
    assert received.header("content-type") == "application/json"
    assert received.header("X-Uptake-Signature") == "sha256=abc"
    assert received.body == json.dumps(payload).encode()
    assert received.json == payload


def test_http_receiver_answers_the_configured_statuses_in_order(http_receiver):
    http_receiver.clear()
    http_receiver.respond_with(503)
    http_receiver.set_response(
        202, body='{"ok": true}', headers={"Content-Type": "application/json"}
    )

    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(f"{http_receiver.url}/first", timeout=5)
    assert failure.value.code == 503
    with urllib.request.urlopen(f"{http_receiver.url}/second", timeout=5) as response:
        assert response.status == 202
        assert json.loads(response.read()) == {"ok": True}

    assert [r.path for r in http_receiver.requests] == ["/first", "/second"]
    http_receiver.clear()
    assert http_receiver.requests == []
    assert http_receiver.status == 200


def test_redis_server_answers_ping_and_keeps_values(redis_server):
    client = redis.Redis.from_url(redis_server)
    try:
        assert client.ping() is True
        client.set("uptake:test", "hello")
        assert client.get("uptake:test") == b"hello"
        assert client.config_get("save") == {"save": ""}
    finally:
        client.delete("uptake:test")
        client.close()


def test_chromium_opens_a_page_and_reads_its_title(page):
    page.goto("data:text/html,<title>Uptake works</title><h1>Hello</h1>")
    assert page.title() == "Uptake works"
    assert page.locator("h1").inner_text() == "Hello"
