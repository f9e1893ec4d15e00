"""A short road for /xapi/ through the WSGI server (ADR 0018).

The record store authenticates every request with HTTP Basic credentials and answers JSON: it
needs none of the session, CSRF, authentication, messages, locale, HTMX or viewer-time-zone
middleware that the screens need, and each of them costs CPU on every request (about a third
of a single-statement POST). `with_xapi_fast_path` wraps the project's WSGI application: a
request whose path starts with /xapi/ goes to a Django handler with its own short middleware
list, everything else to the usual one. Both resolve URLs with the same URLconf, and Django's
request_started / request_finished signals (query log reset, connections closed when too old)
run for both.

Kept for /xapi/: SecurityMiddleware (HTTPS redirect, HSTS, nosniff when configured) and the
CORS of the record store (`uptake.xapi.cors`). Thread-local state the skipped middleware would
set (active time zone and language) is reset, so nothing leaks from a screen request served
earlier on the same thread.

Django's test client and ASGI servers do not use this road: they take the full middleware
list, in which `uptake.xapi.cors` is listed too, and the views answer the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.module_loading import import_string

PREFIX = "/xapi/"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "uptake.xapi.fastpath.ResetThreadState",
    "uptake.xapi.cors.XapiCorsMiddleware",
]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ResetThreadState:
    """No time zone or language left active by an earlier request on this thread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.deactivate()
        translation.deactivate()
        return self.get_response(request)


class XapiHandler(WSGIHandler):
    """Django's WSGI handler with the record store's own, short middleware list."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(MIDDLEWARE):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


def with_xapi_fast_path(application: WSGIApp) -> WSGIApp:
    """The WSGI application that sends /xapi/ requests to `XapiHandler`."""
    xapi = XapiHandler()

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return xapi(environ, start_response)
        return application(environ, start_response)

    return dispatch
