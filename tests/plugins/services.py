"""Real local stand-ins for everything that leaves the process, as pytest fixtures.

Loaded by the root conftest (`pytest_plugins = ["tests.plugins.services"]`). Each service runs
on 127.0.0.1 on a free port, starts once per test session and stops at its end:

- `smtp_server`: an aiosmtpd SMTP server that keeps every message it receives;
  `smtp_mail` points Django's SMTP email backend at it for one test.
- `http_receiver`: an HTTP server that records every request (webhooks, CRM sync) and answers
  with a status the test chooses.
- `redis_server`: Debian's redis-server, without persistence; the fixture value is its URL.
- `browser` / `page`: headless Debian Chromium driven by Playwright's sync API.

Session-scoped services are shared: a test that uses one should `clear()` it first (`smtp_mail`
does that for the SMTP server).

Tests that use `browser`/`page` get the `browser` marker and run last (see
`pytest_collection_modifyitems`); tests that use `redis_server` get the `redis` marker.
"""

from __future__ import annotations

import email.policy
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

LOOPBACK = "127.0.0.1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_TIMEOUT_MS = 10_000


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _missing(what: str, hint: str) -> None:
    """A local component is not installed: fail in CI (it must run there), skip elsewhere."""
    message = f"{what} is not installed ({hint}); run scripts/ensure-system-packages"
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class _Recorder:
    """A thread-safe list of received things with a blocking wait."""

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._cond = threading.Condition()

    def add(self, item: Any) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._items.clear()

    def snapshot(self) -> list[Any]:
        with self._cond:
            return list(self._items)

    def wait_for(self, n: int, timeout: float, what: str) -> list[Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._items) >= n, timeout=timeout):
                raise AssertionError(
                    f"expected at least {n} {what} within {timeout}s, got {len(self._items)}"
                )
            return list(self._items)


# --- SMTP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        """The text/plain body (of a multipart message, its text/plain part)."""
        part = self.message.get_body(preferencelist=("plain",))
        return "" if part is None else cast(EmailMessage, part).get_content()

    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return None if part is None else cast(EmailMessage, part).get_content()


class _SMTPHandler:
    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = cast(EmailMessage, BytesParser(policy=email.policy.default).parsebytes(raw))
        self.recorder.add(
            ReceivedMail(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"


class SMTPServer:
    """A running SMTP server; `messages` lists what it received, oldest first."""

    def __init__(self, host: str, port: int, recorder: _Recorder) -> None:
        self.host = host
        self.port = port
        self._recorder = recorder

    @property
    def messages(self) -> list[ReceivedMail]:
        return self._recorder.snapshot()

    def clear(self) -> None:
        self._recorder.clear()

    def wait_for(self, n: int = 1, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until at least `n` messages arrived; returns them. AssertionError on timeout."""
        return self._recorder.wait_for(n, timeout, "emails")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPServer]:
    from aiosmtpd.controller import Controller

    recorder = _Recorder()
    port = free_port()
    controller = Controller(_SMTPHandler(recorder), hostname=LOOPBACK, port=port)
    controller.start()
    try:
        yield SMTPServer(LOOPBACK, port, recorder)
    finally:
        controller.stop()


@pytest.fixture
def smtp_mail(smtp_server: SMTPServer, settings: Any) -> SMTPServer:
    """Django sends real SMTP to `smtp_server` during this test; its inbox starts empty."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    smtp_server.clear()
    return smtp_server


# --- HTTP receiver ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as the receiver got it. `headers` keys keep their case; use header()."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class _Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class HTTPReceiver:
    """A running HTTP server that records requests and answers `status` (default 200).

    `respond_with(503, 503)` queues one-off answers used before falling back to `status`, to
    exercise retries. `clear()` forgets the requests and restores the default answers.
    """

    def __init__(self, host: str, port: int, recorder: _Recorder) -> None:
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self._recorder = recorder
        self._lock = threading.Lock()
        self._default = _Reply()
        self._queued: list[_Reply] = []

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self._recorder.snapshot()

    @property
    def status(self) -> int:
        return self._default.status

    @status.setter
    def status(self, value: int) -> None:
        with self._lock:
            self._default.status = value

    def set_response(
        self, status: int = 200, body: bytes | str = b"", headers: dict[str, str] | None = None
    ) -> None:
        """The answer to every request not served from the `respond_with` queue."""
        with self._lock:
            self._default = _Reply(status, _as_bytes(body), dict(headers or {}))

    def respond_with(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order, then with the default."""
        with self._lock:
            self._queued.extend(_Reply(status) for status in statuses)

    def clear(self) -> None:
        with self._lock:
            self._default = _Reply()
            self._queued.clear()
        self._recorder.clear()

    def wait_for(self, n: int = 1, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Block until at least `n` requests arrived; returns them. AssertionError on timeout."""
        return self._recorder.wait_for(n, timeout, "HTTP requests")

    def _next_reply(self) -> _Reply:
        with self._lock:
            return self._queued.pop(0) if self._queued else self._default

    def _record(self, request: ReceivedRequest) -> None:
        self._recorder.add(request)


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: HTTPReceiver


class _ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ReceiverServer

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()  # the CRLF after the last chunk
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        receiver = self.server.receiver
        body = self._read_body()
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        reply = receiver._next_reply()
        receiver._record(
            ReceivedRequest(
                method=self.command,
                path=self.path,
                headers=dict(self.headers.items()),
                body=body,
                json=parsed,
            )
        )
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


@pytest.fixture(scope="session")
def http_receiver() -> Iterator[HTTPReceiver]:
    # Port 0: the server binds a free port itself, no race.
    server = _ReceiverServer((LOOPBACK, 0), _ReceiverHandler)
    host, port = server.server_address[:2]
    server.receiver = HTTPReceiver(str(host), int(port), _Recorder())
    thread = threading.Thread(target=server.serve_forever, name="http-receiver", daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- Redis -----------------------------------------------------------------------------------


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server (no persistence) for the session; the value is its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        _missing("redis-server", "Debian package redis-server")
    workdir = tmp_path_factory.mktemp("redis")
    for _attempt in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--bind",
                LOOPBACK,
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None and not _redis_ping(port):
            time.sleep(0.05)
        if proc.poll() is None and _redis_ping(port):
            break
        proc.kill()
        output = proc.communicate()[0].decode(errors="replace")
    else:
        pytest.fail(f"redis-server did not start:\n{output}", pytrace=False)
    try:
        yield f"redis://{LOOPBACK}:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


# --- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium for the session (Playwright sync API)."""
    # Playwright's sync API keeps an asyncio loop running in this thread; without this,
    # Django's async-safety check refuses ORM calls made by the test (e.g. with live_server).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    executable = os.environ.get("UPTAKE_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        _missing("chromium", f"{executable}; Debian package chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context (own cookies); actions time out after 10 s."""
    context = browser.new_context(locale="en-US", timezone_id="UTC")
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    context.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


# --- Markers and ordering --------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the services they use, and run browser tests last.

    Browser tests run last because, once Playwright's sync API has started, its event loop
    counts as running in the main thread for the rest of the session, which would make
    `async_to_sync` and `asyncio.run` fail in any later test.
    """
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"browser", "page"}:
            item.add_marker(pytest.mark.browser)
        if "redis_server" in names:
            item.add_marker(pytest.mark.redis)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
