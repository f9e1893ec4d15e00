"""RFC 9457 problem+json: the one place domain errors become API responses."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from uptake.core.errors import DomainError

PROBLEM_BASE = "https://uptake.invalid/problems/"


def problem_response(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    import json

    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    return HttpResponse(
        json.dumps(body, default=str), status=status, content_type="application/problem+json"
    )


def _pydantic_errors(exc: NinjaValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
        out.append({"field": ".".join(loc) or None, "message": err.get("msg", "invalid")})
    return out


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=[e.as_dict() for e in exc.errors],
        )

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = _pydantic_errors(exc)
        return problem_response(
            request,
            status=400,
            code="validation-failed",
            title="Some input is not valid",
            detail="; ".join(
                f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
            ),
            errors=errors,
        )

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return problem_response(
            request,
            status=401,
            code="unauthenticated",
            title="Authentication required",
            detail="Send a valid API token (Authorization: Bearer <token>) or sign in.",
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return problem_response(
            request,
            status=exc.status_code,
            code="http-error",
            title="Request failed",
            detail=str(exc),
        )

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        import logging

        logging.getLogger("uptake.api").exception("unexpected API error")
        return problem_response(
            request,
            status=500,
            code="internal",
            title="Something went wrong on our side",
            detail="The error was logged. Please try again; if it persists, tell your admin.",
        )
