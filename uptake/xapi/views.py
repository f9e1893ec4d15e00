"""The xAPI 1.0.3 resources at /xapi/: plain Django views (exact status codes, headers and
multipart bodies matter more here than typed schemas). Each handler parses, makes one service
or selector call, and renders."""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from uptake.cmi5 import lrs as cmi5_lrs
from uptake.core.actor import Actor
from uptake.core.errors import DomainError
from uptake.xapi import rules, selectors, services, wire
from uptake.xapi import v2 as xapi_v2
from uptake.xapi.models import Document
from uptake.xapi.services import DocumentKey
from uptake.xapi.wire import XapiError, XRequest

log = logging.getLogger("uptake.xapi")

Handler = Callable[[XRequest], HttpResponse]


def _actor(xreq: XRequest) -> Actor:
    assert xreq.credential is not None
    return Actor.system(f"xapi:{xreq.credential.key}")


def _tenant(xreq: XRequest) -> int:
    assert xreq.credential is not None
    return xreq.credential.tenant_id


def _endpoint(
    handlers: dict[str, Handler],
    *,
    versioned: bool = True,
    auth: bool = True,
    consistent: bool = False,
) -> Any:
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        method = request.method or "GET"
        v2 = False
        try:
            xreq = wire.parse(request)
            method = xreq.method
            v2 = wire.wants_v2(xreq)
            if v2 and xreq.extra.get("alternate"):
                raise XapiError(
                    400,
                    "xAPI 2.0 has no alternate request syntax (?method=); send the request "
                    "with its own method and headers.",
                )
            if auth:
                xreq.credential = wire.authenticate(xreq)
                # An AU session's token (cmi5 fetch URL) reaches only its own session's data.
                cmi5_lrs.check_request(
                    credential=xreq.credential,
                    method=xreq.method,
                    path=xreq.path,
                    params=xreq.params,
                )
            if versioned:
                wire.check_version(xreq)
            lookup = "GET" if xreq.method == "HEAD" else xreq.method
            handler = handlers.get(lookup)
            if handler is None:
                response = wire.error(405, f"{xreq.method} is not allowed here.")
                response["Allow"] = ", ".join(
                    [*handlers, "HEAD"] if "GET" in handlers else handlers
                )
            else:
                if auth and xreq.credential is not None:
                    write = lookup in ("PUT", "POST", "DELETE")
                    if write and not xreq.credential.can_write:
                        raise XapiError(403, "This credential may only read.")
                    if not write and not xreq.credential.can_read:
                        raise XapiError(403, "This credential may only write.")
                response = handler(xreq)
        except XapiError as exc:
            response = wire.error(exc.status, exc.message)
        except RequestDataTooBig:
            response = wire.error(
                413,
                "The request body is larger than this server accepts "
                f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes); send smaller batches.",
            )
        except DomainError as exc:
            response = wire.error(exc.status, exc.detail)
        except Exception:
            log.exception("unexpected xAPI error")
            response = wire.error(500, "Something went wrong on our side; the error was logged.")
        if consistent and method in ("GET", "HEAD"):
            response["X-Experience-API-Consistent-Through"] = selectors.format_stored(
                services.stored_now()
            )
        return wire.finish(response, method, v2=v2)

    return view


# --- parameters -----------------------------------------------------------------------------


def _only(xreq: XRequest, allowed: set[str]) -> None:
    extra = set(xreq.params) - allowed
    if extra:
        raise XapiError(400, f"Unexpected parameter(s): {', '.join(sorted(extra))}.")


def _required(xreq: XRequest, name: str) -> str:
    value = xreq.params.get(name)
    if value is None:
        raise XapiError(400, f"The {name} parameter is required.")
    return value


def _iri_param(xreq: XRequest, name: str, *, required: bool = True) -> str | None:
    value = _required(xreq, name) if required else xreq.params.get(name)
    if value is not None and not rules.is_iri(value):
        raise XapiError(400, f"{name} must be an IRI.")
    return value


def _agent_param(xreq: XRequest, name: str = "agent", *, required: bool = True) -> Any:
    raw = _required(xreq, name) if required else xreq.params.get(name)
    if raw is None:
        return None
    try:
        agent = json.loads(raw)
        rules.validate_actor(agent, name)
    except ValueError as exc:
        raise XapiError(400, f"{name} must be an Agent or Group as JSON: {exc}") from exc
    except rules.Invalid as exc:
        raise XapiError(400, str(exc)) from exc
    return agent


def _uuid_param(xreq: XRequest, name: str) -> str | None:
    value = xreq.params.get(name)
    if value is not None and not rules.is_uuid(value):
        raise XapiError(400, f"{name} must be a UUID.")
    return value.lower() if value else None


def _time_param(xreq: XRequest, name: str) -> dt.datetime | None:
    value = xreq.params.get(name)
    if value is None:
        return None
    try:
        return rules.parse_timestamp(value, name)
    except rules.Invalid as exc:
        raise XapiError(400, str(exc)) from exc


def _bool_param(xreq: XRequest, name: str) -> bool:
    value = xreq.params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise XapiError(400, f"{name} must be true or false.")
    return value == "true"


def _json_body(xreq: XRequest) -> Any:
    try:
        return rules.loads(xreq.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise XapiError(400, f"The body is not valid JSON: {exc}") from exc


# --- statements -----------------------------------------------------------------------------

_STATEMENT_GET_PARAMS = {
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "more",
}


def _statements_in(xreq: XRequest) -> tuple[Any, dict[str, services.AttachmentPart]]:
    ctype = xreq.content_type
    if ctype == "multipart/mixed":
        return wire.parse_multipart(xreq.body, xreq.headers.get("content-type", ""))
    if ctype != "application/json" and ctype != "":
        raise XapiError(400, "Statements are sent as application/json or multipart/mixed.")
    return _json_body(xreq), {}


def statements_put(xreq: XRequest) -> HttpResponse:
    _only(xreq, {"statementId"})
    sid = _required(xreq, "statementId")
    if not rules.is_uuid(sid):
        raise XapiError(400, "statementId must be a UUID.")
    body, parts = _statements_in(xreq)
    if not isinstance(body, dict):
        raise XapiError(400, "PUT takes one statement (a JSON object).")
    if "id" in body and str(body["id"]).lower() != sid.lower():
        raise XapiError(400, "The statement's id differs from the statementId parameter.")
    body = {**body, "id": sid.lower()}
    services.store_statements(
        actor=_actor(xreq),
        credential=_credential(xreq),
        statements=[body],
        attachments=parts,
        v2=xreq.v2,
    )
    return wire.respond(204)


def _credential(xreq: XRequest) -> Any:
    assert xreq.credential is not None
    return xreq.credential


def statements_post(xreq: XRequest) -> HttpResponse:
    _only(xreq, set())
    body, parts = _statements_in(xreq)
    statements = body if isinstance(body, list) else [body]
    if not statements:
        raise XapiError(400, "The request has no statements.")
    ids = services.store_statements(
        actor=_actor(xreq),
        credential=_credential(xreq),
        statements=statements,
        attachments=parts,
        v2=xreq.v2,
    )
    return wire.respond(200, ids)


def _format(xreq: XRequest) -> str:
    fmt = xreq.params.get("format", "exact")
    if fmt not in ("exact", "ids", "canonical"):
        raise XapiError(400, "format must be exact, ids or canonical.")
    return fmt


def _render(xreq: XRequest, statements: list[dict[str, Any]], fmt: str) -> list[dict[str, Any]]:
    if not xreq.v2:  # 1.0.x clients: statements without the 2.0-only properties (ADR 0019)
        statements = [xapi_v2.for_v1(st) for st in statements]
    elif fmt == "ids":
        return [xapi_v2.format_ids(st) for st in statements]
    if fmt == "ids":
        return [rules.format_ids(st) for st in statements]
    if fmt == "canonical":
        langs = rules.accepted_languages(xreq.headers.get("accept-language", ""))
        return [rules.format_canonical(st, langs) for st in statements]
    return statements


def _with_attachments(
    xreq: XRequest, result: Any, statements: list[dict[str, Any]]
) -> HttpResponse:
    attachments = selectors.attachments_for(tenant_id=_tenant(xreq), statements=statements)
    body, ctype = wire.build_multipart(result, attachments)
    return wire.respond(200, body, content_type=ctype)


def statements_get(xreq: XRequest) -> HttpResponse:
    _only(xreq, _STATEMENT_GET_PARAMS)
    fmt = _format(xreq)
    with_attachments = _bool_param(xreq, "attachments")
    single = {"statementId", "voidedStatementId"} & set(xreq.params)
    if single:
        if len(single) > 1 or set(xreq.params) - {*single, "format", "attachments"}:
            raise XapiError(
                400,
                "statementId or voidedStatementId can only be combined with format and "
                "attachments.",
            )
        name = single.pop()
        sid = _uuid_param(xreq, name)
        assert sid is not None
        st = selectors.get_statement(
            tenant_id=_tenant(xreq), statement_id=sid, voided=name == "voidedStatementId"
        )
        if st is None:
            raise XapiError(404, f"There is no statement {sid}.")
        out = _render(xreq, [st], fmt)[0]
        response = (
            _with_attachments(xreq, out, [st]) if with_attachments else wire.respond(200, out)
        )
        response["Last-Modified"] = http_date(rules.parse_timestamp(st["stored"]).timestamp())
        return response
    try:
        limit = int(xreq.params.get("limit", "0"))
    except ValueError as exc:
        raise XapiError(400, "limit must be a whole number.") from exc
    if limit < 0:
        raise XapiError(400, "limit must not be negative.")
    after = None
    if "more" in xreq.params:
        try:
            stored_us, last_pk = xreq.params["more"].split(".")
            after = (dt.datetime.fromtimestamp(int(stored_us) / 1e6, tz=dt.UTC), int(last_pk))
        except ValueError as exc:
            raise XapiError(400, "This more link is not valid.") from exc
    query = selectors.StatementQuery(
        agent=_agent_param(xreq, required=False),
        verb=_iri_param(xreq, "verb", required=False),
        activity=_iri_param(xreq, "activity", required=False),
        registration=_uuid_param(xreq, "registration"),
        related_activities=_bool_param(xreq, "related_activities"),
        related_agents=_bool_param(xreq, "related_agents"),
        since=_time_param(xreq, "since"),
        until=_time_param(xreq, "until"),
        limit=limit,
        ascending=_bool_param(xreq, "ascending"),
        after=after,
        v2=xreq.v2,
    )
    page = selectors.find_statements(tenant_id=_tenant(xreq), query=query)
    more = ""
    if page.next_after is not None:
        stored, pk = page.next_after
        params = {k: v for k, v in xreq.params.items() if k != "more"}
        params["more"] = f"{round(stored.timestamp() * 1e6)}.{pk}"
        more = "/xapi/statements?" + urllib.parse.urlencode(params)
    result = {"statements": _render(xreq, page.statements, fmt), "more": more}
    if with_attachments:
        return _with_attachments(xreq, result, page.statements)
    return wire.respond(200, result)


statements = _endpoint(
    {"GET": statements_get, "PUT": statements_put, "POST": statements_post}, consistent=True
)


# --- documents ------------------------------------------------------------------------------


def _document_response(doc: Document) -> HttpResponse:
    response = wire.respond(200, bytes(doc.content), content_type=doc.content_type)
    response["ETag"] = f'"{doc.etag}"'
    response["Last-Modified"] = http_date(doc.updated_at.timestamp())
    return response


def _documents(kind: str, params: set[str], id_param: str) -> Any:
    def key(xreq: XRequest, *, need_id: bool) -> DocumentKey:
        _only(xreq, params)
        activity_id = ""
        agent_key = 0
        if "activityId" in params:
            activity_id = _iri_param(xreq, "activityId") or ""
        if "agent" in params:
            agent_key = rules.agent_key(_agent_param(xreq))
        registration = _uuid_param(xreq, "registration") or "" if "registration" in params else ""
        document_id = xreq.params.get(id_param, "")
        if need_id and not document_id:
            raise XapiError(400, f"The {id_param} parameter is required.")
        return DocumentKey(kind, activity_id, agent_key, registration, document_id)

    def get(xreq: XRequest) -> HttpResponse:
        k = key(xreq, need_id=False)
        if k.document_id:
            if "since" in xreq.params:
                raise XapiError(400, f"since cannot be combined with {id_param}.")
            doc = selectors.get_document(tenant_id=_tenant(xreq), key=k)
            if doc is None:
                raise XapiError(404, "There is no such document.")
            return _document_response(doc)
        ids = selectors.document_ids(
            tenant_id=_tenant(xreq), key=k, since=_time_param(xreq, "since")
        )
        return wire.respond(200, ids)

    def write(xreq: XRequest, *, merge: bool) -> HttpResponse:
        k = key(xreq, need_id=True)
        if "since" in xreq.params:
            raise XapiError(400, "since is only for GET.")
        doc = services.save_document(
            actor=_actor(xreq),
            tenant_id=_tenant(xreq),
            key=k,
            content=xreq.body,
            content_type=xreq.headers.get("content-type", "application/octet-stream"),
            merge=merge,
            if_match=xreq.headers.get("if-match"),
            if_none_match=xreq.headers.get("if-none-match"),
            strict=kind != Document.Kind.STATE,
            exists_conflict=xreq.v2 and not merge,
        )
        response = wire.respond(204)
        response["ETag"] = f'"{doc.etag}"'
        return response

    def delete(xreq: XRequest) -> HttpResponse:
        k = key(xreq, need_id=kind != Document.Kind.STATE)
        services.delete_documents(
            actor=_actor(xreq),
            tenant_id=_tenant(xreq),
            key=k,
            single=bool(k.document_id),
            if_match=xreq.headers.get("if-match"),
        )
        return wire.respond(204)

    return _endpoint(
        {
            "GET": get,
            "PUT": lambda x: write(x, merge=False),
            "POST": lambda x: write(x, merge=True),
            "DELETE": delete,
        }
    )


state = _documents(
    Document.Kind.STATE, {"activityId", "agent", "registration", "stateId", "since"}, "stateId"
)
activity_profile = _documents(
    Document.Kind.ACTIVITY_PROFILE, {"activityId", "profileId", "since"}, "profileId"
)
agent_profile = _documents(
    Document.Kind.AGENT_PROFILE, {"agent", "profileId", "since"}, "profileId"
)


# --- activities, agents, about --------------------------------------------------------------


def activities_get(xreq: XRequest) -> HttpResponse:
    _only(xreq, {"activityId"})
    activity_id = _iri_param(xreq, "activityId")
    assert activity_id is not None
    found = selectors.activity(tenant_id=_tenant(xreq), activity_id=activity_id)
    return wire.respond(200, found or {"objectType": "Activity", "id": activity_id})


def agents_get(xreq: XRequest) -> HttpResponse:
    _only(xreq, {"agent"})
    agent = _agent_param(xreq)
    if agent.get("objectType") == "Group":
        raise XapiError(400, "agent must be an Agent, not a Group.")
    person: dict[str, Any] = {"objectType": "Person"}
    if "name" in agent:
        person["name"] = [agent["name"]]
    for ifi in rules.IFIS:
        if ifi in agent:
            person[ifi] = [agent[ifi]]
    return wire.respond(200, person)


def about_get(xreq: XRequest) -> HttpResponse:
    _only(xreq, set())
    return wire.respond(
        200, {"version": ["1.0.3", "1.0.2", "1.0.1", "1.0.0", xapi_v2.VERSION], "extensions": {}}
    )


activities = _endpoint({"GET": activities_get})
agents = _endpoint({"GET": agents_get})
about = _endpoint({"GET": about_get}, versioned=False, auth=False)
