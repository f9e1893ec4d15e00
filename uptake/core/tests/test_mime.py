"""The outbox's hand-written MIME (uptake.core.mime) reads back as the same message with
Python's own parser, with no defects: headers, encodings, alternatives and attachments."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.parser import BytesParser

import pytest
from icalendar import Calendar

from uptake.core import mime, outbox

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nPRODID:-//Uptake//Test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:due-1-2@uptake.local\r\nSUMMARY:Sécurité au travail\r\n"
    "DTSTART:20261201T100000Z\r\nDTEND:20261201T103000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def parse(raw: str):  # type: ignore[no-untyped-def]
    assert raw.isascii()
    assert "\n" not in raw.replace("\r\n", "")  # CRLF only
    assert max(len(line) for line in raw.split("\r\n")) <= 998
    return BytesParser(policy=policy.default).parsebytes(raw.encode("ascii"))


def compose(**kw):  # type: ignore[no-untyped-def]
    args = {
        "from_email": "Uptake <uptake@localhost>",
        "to": ["ann@example.test"],
        "subject": "Hello",
        "text": "Hi Ann",
        "message_id": "<m-1@uptake.local>",
        "date": dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC),
    }
    return mime.compose(**(args | kw))


def test_a_nudge_shaped_email_reads_back_whole():
    long_subject = "Rappel : « Sécurité au travail » est dû le 3 décembre — ne l'oubliez pas " * 2
    text = "Bonjour Zoë,\n.a line starting with a dot\n" + "x" * 1200 + "\ntrailing space \n"
    raw = compose(
        from_email="Équipe Uptake <uptake@localhost>",
        to=["zoe@exämple.test", "Ann Other <ann@example.test>"],
        subject=long_subject,
        text=text,
        html="<p>Héllo <a href='https://x.test/a?b=1&c=2'>open</a></p>",
        headers={
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": "<https://uptake.test/unsubscribe/" + "t" * 150 + "/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": "<nudge-7-email@uptake.test>",
            "Bcc": "ignored@example.test",
        },
        attachments=[{"filename": "invite.ics", "content": ICS, "mimetype": "text/calendar"}],
    )
    msg = parse(raw)
    assert msg.defects == [] and all(part.defects == [] for part in msg.walk())
    assert str(msg["Subject"]) == " ".join(long_subject.split())
    assert str(msg["From"]) == "Équipe Uptake <uptake@localhost>"
    assert str(msg["To"]) == "zoe@xn--exmple-cua.test, Ann Other <ann@example.test>"
    assert msg["Message-ID"] == "<nudge-7-email@uptake.test>"
    assert msg["Bcc"] is None
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"] == "<https://uptake.test/unsubscribe/" + "t" * 150 + "/>"
    assert msg["Date"].datetime == dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    assert msg.get_content_type() == "multipart/mixed"
    # Line ends on the wire are CRLF; how a parser hands them back varies (QP keeps them).
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert "Héllo" in msg.get_body(("html",)).get_content()
    [ics] = list(msg.iter_attachments())
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_param("method") == "REQUEST"
    assert ics.get_filename() == "invite.ics"
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Sécurité au travail"


def test_plain_ascii_mail_stays_7bit_and_simple():
    msg = parse(compose(text="Line one\nLine two\n"))
    assert msg.get_content_type() == "text/plain"
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert msg.get_content().replace("\r\n", "\n") == "Line one\nLine two\n"
    assert msg["Message-ID"] == "<m-1@uptake.local>"


def test_headers_cannot_be_injected_and_long_ones_are_folded():
    raw = compose(subject="Hi\r\nBcc: evil@example.test " + "word " * 40)
    msg = parse(raw)
    assert msg["Bcc"] is None
    head = raw.split("\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split("\r\n") if line.startswith(("Subj", " ")))


def test_binary_attachment_is_base64():
    msg = parse(
        compose(
            attachments=[
                {"filename": "a.bin", "content": "\x00\x01 é", "mimetype": "application/x-a"}
            ]
        )
    )
    [part] = list(msg.iter_attachments())
    assert part["Content-Transfer-Encoding"] == "base64"
    assert part.get_content() == "\x00\x01 é".encode()


def test_an_address_that_cannot_be_written_leaves_the_payload_to_the_general_path(settings):
    payload = {"to": ["zoë@example.test"], "subject": "s", "text": "t"}
    assert "raw" not in outbox.with_raw_email("k", payload)
    with pytest.raises(ValueError):
        mime.address("not an address")


def test_enqueued_email_carries_its_bytes_and_envelope(settings):
    settings.DEFAULT_FROM_EMAIL = "Uptake <uptake@uptake.test>"
    payload = outbox.with_raw_email(
        "notification:x:1", {"to": ["ann@example.test"], "subject": "s", "text": "t"}
    )
    assert payload["mail_from"] == "uptake@uptake.test"
    assert payload["rcpt"] == ["ann@example.test"]
    msg = parse(payload["raw"])
    # Stable per idempotency key: a resend is recognisably the same message.
    again = parse(
        outbox.with_raw_email("notification:x:1", {"to": ["a@b.test"], "text": ""})["raw"]
    )
    assert msg["Message-ID"] == again["Message-ID"]
    assert msg["Message-ID"].startswith("<outbox-") and msg["Message-ID"].endswith(">")
