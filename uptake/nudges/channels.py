"""What a nudge looks like in each channel: the message text (per language and arm), the email
(HTML + text, List-Unsubscribe one-click per RFC 8058), the iCalendar invitation (RFC 5545),
the Teams Adaptive Card (1.5) and the Slack Block Kit message; and the webhook transport that
the outbox calls (URLs are stored encrypted)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from uptake.nudges.rules import Trigger

UNSUBSCRIBE_SALT = "uptake.nudges.unsubscribe"


def absolute(url: str) -> str:
    base = getattr(settings, "UPTAKE_BASE_URL", "")
    return f"{base.rstrip('/')}{url}" if base and url.startswith("/") else url


# --- Message text ----------------------------------------------------------------------------


def default_texts(trigger: str, *, escalation: bool) -> tuple[str, str]:
    """The built-in subject and body for a trigger, in the active language."""
    if escalation:
        return (
            _("{learner} is overdue on {course}"),
            _(
                "{learner} has not finished {course}, which was due on {due_date}. "
                "A word from you is often what it takes."
            ),
        )
    texts = {
        Trigger.ASSIGNED: (
            _("New for you: {course}"),
            _("Hello {first_name}, you have been assigned {course}{due_clause}. Start here:"),
        ),
        Trigger.NOT_STARTED: (
            _("Ready to start {course}?"),
            _("Hello {first_name}, {course} is waiting for you{due_clause}. It starts here:"),
        ),
        Trigger.DUE_SOON: (
            _("{course} is due on {due_date}"),
            _("Hello {first_name}, {course} is due on {due_date}. Pick up where you left off:"),
        ),
        Trigger.OVERDUE: (
            _("{course} is overdue"),
            _("Hello {first_name}, {course} was due on {due_date}. You can still finish it:"),
        ),
        Trigger.INACTIVE: (
            _("Pick up {course} again"),
            _("Hello {first_name}, it has been a while since you worked on {course}. Continue:"),
        ),
        Trigger.COMPLETED: (
            _("Well done: you completed {course}"),
            _("Congratulations {first_name}, you completed {course}. See what is next:"),
        ),
        Trigger.STEP_UNLOCKED: (
            _("Next up: {course}"),
            _("Hello {first_name}, your next step, {course}, is now open. Start it here:"),
        ),
    }
    return texts.get(trigger, (_("A reminder about {course}"), _("Hello {first_name}:")))


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Content:
    """A nudge's words and link, the same in every channel."""

    subject: str
    body: str
    link: str
    link_label: str
    notice: str  # e.g. "mandatory: sent despite your preferences"
    language: str


def fill(template: str, values: dict[str, str]) -> str:
    """Placeholders like {course}; unknown ones stay as written (never an error for admins)."""
    try:
        return template.format_map(_Blank(values))
    except (ValueError, IndexError):
        return template


def compose(
    *,
    trigger: str,
    escalation: bool,
    subject: str,
    body: str,
    language: str,
    first_name: str,
    learner: str,
    course: str,
    due_at: dt.datetime | None,
    time_zone: str,
    link: str,
    notice: bool,
) -> Content:
    """Fill the message (blank subject/body = the built-in text) for one recipient."""
    with translation.override(language or None):
        default_subject, default_body = default_texts(trigger, escalation=escalation)
        due_date = ""
        if due_at is not None:
            from uptake.nudges.rules import zone

            due_date = formats.date_format(due_at.astimezone(zone(time_zone)), "DATE_FORMAT")
        values = {
            "first_name": first_name,
            "learner": learner,
            "course": course,
            "due_date": due_date,
            "due_clause": (_(", due on %(date)s") % {"date": due_date}) if due_date else "",
            "link": link,
        }
        label = _("Open {course}") if not escalation else _("Nudge {learner}")
        return Content(
            subject=fill(subject or default_subject, values),
            body=fill(body or default_body, values),
            link=link,
            link_label=fill(label, values),
            notice=(
                _(
                    "This is a mandatory reminder: it is sent even though you turned these "
                    "messages off."
                )
                if notice
                else ""
            ),
            language=language,
        )


# --- Email -----------------------------------------------------------------------------------


def unsubscribe_token(person_id: int, tenant_id: int) -> str:
    return signing.dumps({"p": person_id, "t": tenant_id}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, int] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return int(data["p"]), int(data["t"])


def unsubscribe_url(person_id: int, tenant_id: int) -> str:
    return absolute(reverse("nudges:unsubscribe", args=[unsubscribe_token(person_id, tenant_id)]))


def email_parts(
    content: Content, *, unsubscribe: str | None, ics: str | None
) -> tuple[str, str, dict[str, str], list[dict[str, str]]]:
    """(text, html, headers, attachments) of the email. With `unsubscribe`, the RFC 8058
    one-click headers (a POST to that URL unsubscribes; a GET shows a confirmation page)."""
    ctx = {"c": content, "unsubscribe": unsubscribe}
    with translation.override(content.language or None):
        text = render_to_string("nudges/email.txt", ctx)
        html = render_to_string("nudges/email.html", ctx)
    headers: dict[str, str] = {"Auto-Submitted": "auto-generated"}
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    attachments = []
    if ics:
        attachments.append({"filename": "invite.ics", "content": ics, "mimetype": "text/calendar"})
    return text, html, headers, attachments


# --- iCalendar -------------------------------------------------------------------------------


def mail_domain() -> str:
    return urlsplit(getattr(settings, "UPTAKE_BASE_URL", "") or "http://uptake.local").hostname or (
        "uptake.local"
    )


def calendar_uid(enrollment_id: int, tenant_id: int) -> str:
    host = urlsplit(getattr(settings, "UPTAKE_BASE_URL", "") or "http://uptake.local").hostname
    return f"due-{tenant_id}-{enrollment_id}@{host or 'uptake.local'}"


def build_ics(
    *,
    method: str,
    uid: str,
    sequence: int,
    summary: str,
    description: str,
    due_at: dt.datetime,
    url: str,
    attendee_email: str,
    attendee_name: str,
    stamp: dt.datetime,
) -> str:
    """A one-event VCALENDAR (METHOD:REQUEST or CANCEL): a 30-minute slot ending at the due
    time, so it shows on the due day in any calendar."""
    cal = Calendar()
    cal.add("prodid", "-//Uptake//Nudges//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("dtstart", (due_at - dt.timedelta(minutes=30)).astimezone(dt.UTC))
    event.add("dtend", due_at.astimezone(dt.UTC))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    from_addr = settings.DEFAULT_FROM_EMAIL
    if "<" in from_addr:
        from_addr = from_addr.split("<", 1)[1].rstrip(">")
    organizer = vCalAddress(f"MAILTO:{from_addr}")
    organizer.params["cn"] = vText("Uptake")
    event.add("organizer", organizer)
    attendee = vCalAddress(f"MAILTO:{attendee_email}")
    attendee.params["cn"] = vText(attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    event.add("attendee", attendee)
    cal.add_component(event)
    return cal.to_ical().decode()


# --- Teams and Slack -------------------------------------------------------------------------


def teams_card(content: Content, *, mention: str) -> dict[str, Any]:
    """An Adaptive Card (schema 1.5) wrapped as an incoming-webhook / Workflows message."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": content.subject,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": f"{mention}: {content.body}", "wrap": True},
    ]
    if content.notice:
        body.append({"type": "TextBlock", "text": content.notice, "isSubtle": True, "wrap": True})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.5",
                    "body": body,
                    "actions": [
                        {"type": "Action.OpenUrl", "title": content.link_label, "url": content.link}
                    ],
                },
            }
        ],
    }


def slack_message(content: Content, *, mention: str) -> dict[str, Any]:
    """A Block Kit message for a Slack incoming webhook (`text` is the notification fallback)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": content.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{mention}*: {content.body}"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": content.link_label[:75]},
                    "url": content.link,
                    "action_id": "open_activity",
                    "style": "primary",
                }
            ],
        },
    ]
    if content.notice:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": content.notice}]})
    return {"text": f"{content.subject}: {content.link}", "blocks": blocks}


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"uptake.nudges.webhooks:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_url(url: str) -> str:
    return _fernet().encrypt(url.encode()).decode()


def decrypt_url(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # the SECRET_KEY changed: the URL must be entered again
        raise ValueError("The webhook URL cannot be decrypted; enter it again.") from exc


def url_hint(url: str) -> str:
    """What is shown back: scheme, host and the last 4 characters, never the secret path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…{url[-4:]}"


def url_problem(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return _("Enter the full webhook URL, starting with https://.")
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        return _("Webhook URLs must use https:// (http is only accepted on this machine).")
    return None


def send_webhook_message(message: Any) -> None:
    """Outbox sender for channel "webhook": POST the JSON body to the endpoint's URL. Any
    non-2xx answer or network error raises, so the outbox retries with backoff."""
    from uptake.nudges.models import WebhookEndpoint

    payload = message.payload
    endpoint = WebhookEndpoint.objects.filter(
        pk=payload["endpoint_id"], tenant_id=message.tenant_id
    ).first()
    if endpoint is None or not endpoint.is_active:
        raise ValueError("The webhook endpoint was removed or turned off.")
    url = decrypt_url(endpoint.url_encrypted)
    request = urllib.request.Request(  # noqa: S310 (scheme checked by url_problem)
        url,
        data=json.dumps(payload["body"]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        raise ValueError(f"{endpoint.get_kind_display()} answered HTTP {exc.code}") from exc
    if not 200 <= status < 300:
        raise ValueError(f"{endpoint.get_kind_display()} answered HTTP {status}")
