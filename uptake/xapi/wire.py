"""The xAPI wire protocol around plain Django requests: the alternate request syntax,
HTTP Basic credentials, version negotiation, multipart/mixed bodies, response headers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from uptake.core import clock
from uptake.xapi import rules, selectors, services
from uptake.xapi.models import Credential

VERSION = "1.0.3"
VERSION_2 = "2.0.0"
_ACCEPTED_VERSION = re.compile(r"^1\.0(?:\.\d+)?$")
_ACCEPTED_VERSION_2 = re.compile(r"^2\.0(?:\.\d+)?$")
_HEADER_FIELDS = {
    "authorization": "authorization",
    "x-experience-api-version": "x-experience-api-version",
    "content-type": "content-type",
    "content-length": "content-length",
    "if-match": "if-match",
    "if-none-match": "if-none-match",
    "accept-language": "accept-language",
}


class XapiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class XRequest:
    method: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    credential: Credential | None = None
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def v2(self) -> bool:
        """Whether the request asked for xAPI 2.0 (X-Experience-API-Version: 2.0.x)."""
        return bool(self.extra.get("v2"))

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def parse(request: HttpRequest) -> XRequest:
    """Normalise a request, unwrapping the alternate request syntax (a POST with ?method=...,
    whose form fields carry headers, parameters and content)."""
    query: dict[str, str] = {k: str(v) for k, v in request.GET.items()}
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "method" not in query:
        return XRequest(request.method or "GET", query, headers, request.body, path=request.path)
    if request.method != "POST":
        raise XapiError(400, "The alternate request syntax (?method=) must be sent as a POST.")
    if set(query) != {"method"}:
        raise XapiError(
            400, "With the alternate request syntax, method must be the only query parameter."
        )
    method = query["method"].upper()
    if method not in ("GET", "PUT", "POST", "DELETE", "HEAD"):
        raise XapiError(400, f"Unknown method {query['method']!r} in the alternate request syntax.")
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise XapiError(
            400,
            "The alternate request syntax needs Content-Type application/x-www-form-urlencoded.",
        )
    try:
        form = urllib.parse.parse_qs(
            request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False
        )
    except UnicodeDecodeError as exc:
        raise XapiError(400, "The form body is not UTF-8.") from exc
    new_headers = {k: v for k, v in headers.items() if k not in ("content-type", "content-length")}
    params: dict[str, str] = {}
    body = b""
    for name, values in form.items():
        value = values[-1]
        lower = name.lower()
        if lower in _HEADER_FIELDS:
            new_headers[_HEADER_FIELDS[lower]] = value
        elif name == "content":
            body = value.encode("utf-8")
        else:
            params[name] = value
    if method in ("PUT", "POST") and "content" not in form:
        raise XapiError(400, "The alternate request syntax needs the content form field.")
    if body and "content-type" not in new_headers:
        new_headers["content-type"] = "application/json"
    xreq = XRequest(method, params, new_headers, body, path=request.path)
    xreq.extra["alternate"] = True  # xAPI 2.0 has no alternate syntax (views refuse it)
    return xreq


def authenticate(xreq: XRequest) -> Credential:
    header = xreq.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise XapiError(401, "Send the key and secret of an xAPI credential (HTTP Basic).")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise XapiError(401, "The Authorization header is malformed.") from exc
    key, sep, secret = decoded.partition(":")
    if not sep:
        raise XapiError(401, "The Authorization header is malformed.")
    credential = _cached_credential(key)
    if credential is None:
        credential = selectors.credential_for(key)
        if credential is not None:
            _remember_credential(credential)
    if credential is None or not hmac.compare_digest(
        credential.secret_hash, services.hash_secret(secret)
    ):
        raise XapiError(401, "Unknown key or wrong secret.")
    now = clock.now()
    if credential.last_used_at is None or (now - credential.last_used_at).total_seconds() > 60:
        Credential.objects.filter(pk=credential.pk).update(last_used_at=now)
        credential.last_used_at = now
    return credential


def wants_v2(xreq: XRequest) -> bool:
    """Whether the request's X-Experience-API-Version is 2.0.x (answered in 2.0.0). A request
    without the header is answered in the deployment's default version (a setting, 1.0.3)."""
    version = xreq.headers.get("x-experience-api-version")
    if version is None:
        return str(settings.UPTAKE_XAPI_DEFAULT_VERSION).startswith("2.")
    return bool(_ACCEPTED_VERSION_2.match(version.strip()))


# Ordinary credentials read from the database, kept by this process for a few seconds: the
# lookup was a query on every request (ADR 0018). What is kept is the row (with the secret's
# hash): the secret sent is still checked against it on every request. A credential revoked
# here is forgotten at once (`forget_credential`); one revoked by another process stops
# working here within CREDENTIAL_TTL seconds. cmi5 AU session tokens are never kept (their
# session's end revokes them and must take effect at once).
CREDENTIAL_TTL = 5.0
_CREDENTIALS_MAX = 1000
_credentials: dict[str, tuple[float, Credential]] = {}


def _cached_credential(key: str) -> Credential | None:
    found = _credentials.get(key)
    if found is None:
        return None
    expires, credential = found
    if time.monotonic() >= expires:
        _credentials.pop(key, None)
        return None
    return credential


def _remember_credential(credential: Credential) -> None:
    if not credential.key.startswith(services.KEY_PREFIX):
        return
    if len(_credentials) >= _CREDENTIALS_MAX:
        _credentials.clear()
    _credentials[credential.key] = (time.monotonic() + CREDENTIAL_TTL, credential)


def forget_credential(key: str) -> None:
    _credentials.pop(key, None)


def forget_credentials() -> None:
    _credentials.clear()


def check_version(xreq: XRequest) -> None:
    version = xreq.headers.get("x-experience-api-version")
    if version is None:
        raise XapiError(400, "Send the X-Experience-API-Version header (1.0.3 or 2.0.0).")
    if _ACCEPTED_VERSION_2.match(version.strip()):
        xreq.extra["v2"] = True
        return
    if not _ACCEPTED_VERSION.match(version.strip()):
        raise XapiError(
            400, f"xAPI version {version!r} is not supported; use 1.0.x (1.0.3) or 2.0.x (2.0.0)."
        )


def respond(
    status: int, body: Any = None, *, content_type: str = "application/json"
) -> HttpResponse:
    if body is None:
        response = HttpResponse(status=status)
    elif isinstance(body, bytes):
        response = HttpResponse(body, status=status, content_type=content_type)
    else:
        response = HttpResponse(rules.dumps(body), status=status, content_type=content_type)
    return response


def error(status: int, message: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"error": {"status": status, "message": message}}),
        status=status,
        content_type="application/json",
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="xAPI"'
    return response


def finish(response: HttpResponse, method: str, *, v2: bool = False) -> HttpResponse:
    response["X-Experience-API-Version"] = VERSION_2 if v2 else VERSION
    if method == "HEAD":
        response.content = b""
    return response


# --- multipart/mixed ----------------------------------------------------------------------


def parse_multipart(body: bytes, content_type_header: str) -> tuple[Any, dict[str, Any]]:
    """(statements JSON, {sha2: AttachmentPart}) from a multipart/mixed statement request."""
    m = re.search(r'boundary="?([^";]+)"?', content_type_header, re.IGNORECASE)
    if not m:
        raise XapiError(400, "multipart/mixed needs a boundary.")
    boundary = b"--" + m.group(1).encode()
    chunks = body.split(boundary)
    if len(chunks) < 3:
        raise XapiError(400, "The multipart body has no parts.")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise XapiError(400, "A multipart part has no header/content separator.")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, content))
    if not parts:
        raise XapiError(400, "The multipart body has no parts.")
    first_headers, first = parts[0]
    if first_headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise XapiError(
            400, "The first part of a multipart/mixed request must be application/json."
        )
    try:
        statements = json.loads(first)
    except ValueError as exc:
        raise XapiError(400, f"The statements part is not valid JSON: {exc}") from exc
    attachments: dict[str, Any] = {}
    for headers, content in parts[1:]:
        sha2 = headers.get("x-experience-api-hash")
        if not sha2:
            raise XapiError(400, "Every attachment part needs an X-Experience-API-Hash header.")
        if headers.get("content-transfer-encoding", "").lower() != "binary":
            raise XapiError(400, "Every attachment part needs Content-Transfer-Encoding: binary.")
        if hashlib.sha256(content).hexdigest() != sha2.lower():
            raise XapiError(400, f"The content of attachment {sha2[:16]}… does not match its hash.")
        attachments[sha2] = services.AttachmentPart(
            sha2=sha2,
            content_type=headers.get("content-type", "application/octet-stream"),
            content=content,
        )
    return statements, attachments


def build_multipart(result: Any, attachments: list[Any]) -> tuple[bytes, str]:
    boundary = "xapi-" + secrets.token_hex(12)
    out = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
        json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode(),
        b"\r\n",
    ]
    for att in attachments:
        out.append(
            (
                f"--{boundary}\r\nContent-Type: {att.content_type}\r\n"
                f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {att.sha2}\r\n\r\n"
            ).encode()
        )
        out.append(bytes(att.content))
        out.append(b"\r\n")
    out.append(f"--{boundary}--".encode())
    return b"".join(out), f'multipart/mixed; boundary="{boundary}"'
