"""RFC 5322 / MIME bytes of an outbox email, written once when the message is queued (ADR 0016).

The outbox's emails have one fixed shape: a plain-text body, optionally an HTML alternative,
optionally attachments (a nudge's calendar invitation). Python's `email` package builds that
through its general machinery (policies, header registry, generator, folding) at about 1.5 ms
of CPU per message; here it is written directly in a few string operations with the C codecs
(`binascii`), so the worker only hands the ready bytes to the SMTP server.

Still correct mail: CRLF line ends; headers folded at spaces to 78 characters (never over 998);
non-ASCII header text as RFC 2047 encoded words (UTF-8, base64); bodies 7bit when ASCII with
short lines, otherwise quoted-printable (text) or base64 (anything else); boundaries random and
absent from the parts (the parts are ASCII after encoding, and the boundary contains "=_"
which quoted-printable never produces)."""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

CRLF = "\r\n"
MAX_LINE = 78


def _encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 encoded words (UTF-8, base64), each at most 75 characters and never
    splitting a character: 45 bytes of UTF-8 make 60 characters of base64."""
    words: list[str] = []
    chunk = bytearray()
    for ch in text:
        b = ch.encode("utf-8")
        if len(chunk) + len(b) > 45:
            words.append(f"=?utf-8?b?{binascii.b2a_base64(bytes(chunk), newline=False).decode()}?=")
            chunk = bytearray()
        chunk += b
    if chunk or not words:
        words.append(f"=?utf-8?b?{binascii.b2a_base64(bytes(chunk), newline=False).decode()}?=")
    return words


def _fold(name: str, words: Sequence[str]) -> str:
    """`Name: w1 w2 ...` folded before a word when the line would pass 78 characters."""
    lines: list[str] = []
    line = f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = f" {word}"
        else:
            line = f"{line} {word}"
    lines.append(line)
    return CRLF.join(lines)


def header(name: str, value: str) -> str:
    """One header line, folded; unstructured text with non-ASCII becomes encoded words."""
    value = " ".join(value.split())  # no line breaks (header injection) and no runs of spaces
    if value.isascii():
        return _fold(name, value.split(" ") if value else [""])
    return _fold(name, _encoded_words(value))


def address(addr: str) -> str:
    """An address for a header and the envelope: a non-ASCII domain in IDNA (punycode);
    a display name with non-ASCII or specials encoded/quoted by `formataddr`."""
    name, email_addr = parseaddr(addr)
    if "@" not in email_addr:
        raise ValueError(f"Not an email address: {addr!r}")
    if not email_addr.isascii():
        local, _, domain = email_addr.rpartition("@")
        if not local.isascii():  # needs SMTPUTF8: left to the general (Django) path
            raise ValueError(f"Non-ASCII local part: {addr!r}")
        email_addr = f"{local}@{domain.encode('idna').decode('ascii')}"
    if not name:
        return email_addr
    return formataddr((name, email_addr), charset="utf-8")


def envelope_address(addr: str) -> str:
    return parseaddr(address(addr))[1]


def _body(text: str, subtype: str, extra: str = "") -> str:
    """A text part: headers and encoded body, CRLF line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() and all(len(line) <= 998 for line in text.split("\n")):
        encoding, body = "7bit", text.replace("\n", CRLF)
    else:
        body = binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")
        encoding, body = "quoted-printable", body.replace("\n", CRLF)
    if not body.endswith(CRLF):
        body += CRLF
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{extra}{CRLF}'
        f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}"
    )


def _attachment(attachment: dict[str, Any]) -> str:
    filename = str(attachment.get("filename") or "attachment")
    mimetype = str(attachment.get("mimetype") or "application/octet-stream")
    content = attachment.get("content") or ""
    safe_name = filename.replace("\\", "").replace('"', "")
    if not safe_name.isascii():
        safe_name = "attachment"
    disposition = f'Content-Disposition: attachment; filename="{safe_name}"{CRLF}'
    if mimetype.startswith("text/") and isinstance(content, str):
        extra = ""
        if mimetype == "text/calendar":
            # Calendar clients act on the method of an invitation (RFC 6047).
            method = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in content.splitlines()
                    if line.upper().startswith("METHOD:")
                ),
                "",
            )
            if method.isalpha():
                extra = f"; method={method.upper()}"
        extra += f'; name="{safe_name}"'
        part = _body(content, mimetype.split("/", 1)[1], extra)
        head, _, rest = part.partition(CRLF)
        return f"{head}{CRLF}{disposition}{rest}"
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    encoded = binascii.b2a_base64(data, newline=False).decode("ascii")  # one line; wrap at 76
    lines = CRLF.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    return (
        f'Content-Type: {mimetype}; name="{safe_name}"{CRLF}{disposition}'
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{lines}{CRLF}"
    )


def _multipart(subtype: str, parts: list[str]) -> str:
    """A multipart part (its Content-Type header, a blank line, the parts between boundaries)."""
    boundary = f"=_{secrets.token_hex(12)}"
    # Each part ends with CRLF; the CRLF before a boundary belongs to the boundary (RFC 2046),
    # so one more keeps the part's own last line end (as Python's generator does).
    inner = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return (
        f'Content-Type: multipart/{subtype}; boundary="{boundary}"{CRLF}{CRLF}'
        f"{inner}--{boundary}--{CRLF}"
    )


@lru_cache(maxsize=8)
def _from_header(from_email: str) -> str:
    return _fold("From", address(from_email).split(" "))


@lru_cache(maxsize=8)
def message_id_domain(base_url: str) -> str:
    return urlsplit(base_url or "http://uptake.local").hostname or "uptake.local"


def message_id(key: str, domain: str) -> str:
    """A stable Message-ID for an idempotency key: a message sent again (the unavoidable
    at-least-once window) is recognisably the same message."""
    return f"<outbox-{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


STRUCTURED = {"from", "to", "cc", "bcc", "reply-to", "sender"}
RESERVED = {"mime-version", "content-type", "content-transfer-encoding", "date", "subject"}


def compose(
    *,
    from_email: str,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    message_id: str,
    date: dt.datetime,
) -> str:
    """The whole message as ASCII text with CRLF line ends, ready for SMTP DATA."""
    lines = [
        _from_header(from_email),
        _fold("To", ", ".join(address(a) for a in to).split(" ")),
        header("Subject", subject),
        f"Date: {format_datetime(date.astimezone(dt.UTC))}",
    ]
    extra = dict(headers or {})
    lines.append(f"Message-ID: {extra.pop('Message-ID', None) or message_id}")
    for name, value in extra.items():
        lowered = name.lower()
        if lowered in RESERVED or lowered == "message-id" or lowered in STRUCTURED:
            continue  # ours, or addresses that would need parsing (not used by the outbox)
        if not name.isascii() or not name.replace("-", "").isalnum():
            continue
        lines.append(header(name, str(value)))
    body = _body(text, "plain")
    if html:
        body = _multipart("alternative", [body, _body(html, "html")])
    if attachments:
        body = _multipart("mixed", [body, *(_attachment(a) for a in attachments)])
    lines.append("MIME-Version: 1.0")
    return CRLF.join(lines) + CRLF + body
