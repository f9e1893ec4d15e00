"""Reads of the record store, always within one tenant."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

from uptake.xapi import rules
from uptake.xapi import v2 as xapi_v2
from uptake.xapi.models import ActivityDefinition, Attachment, Credential, Document, Statement
from uptake.xapi.services import DocumentKey, verb_ids

MAX_LIMIT = 500
_SCAN_CHUNK = 500


_CREDENTIAL_SQL: dict[str, tuple[str, list[str], list[Any]]] = {}


def _credential_query() -> tuple[str, list[str], list[Any]]:
    """(SQL, attribute names, converter per column) for reading a credential, made once per
    database vendor from the model's metadata (so a field added later is read too)."""
    vendor = connection.vendor
    if vendor not in _CREDENTIAL_SQL:
        meta = Credential._meta
        qn = connection.ops.quote_name
        fields = list(meta.concrete_fields)
        columns = ", ".join(qn(str(f.column)) for f in fields)
        sql = (
            f"SELECT {columns} FROM {qn(meta.db_table)} "  # noqa: S608 (names from the model)
            f"WHERE {qn('key')} = %s AND {qn('revoked_at')} IS NULL"
        )
        converters: list[Any] = []
        for field in fields:
            kind = field.get_internal_type()
            if kind == "DateTimeField":
                converters.append(_aware_datetime)
            elif kind == "BooleanField":
                converters.append(bool)
            else:
                converters.append(None)
        _CREDENTIAL_SQL[vendor] = (sql, [f.attname for f in fields], converters)
    return _CREDENTIAL_SQL[vendor]


def _aware_datetime(value: Any) -> dt.datetime:
    """A timestamp column as Django reads it with USE_TZ (SQLite keeps naive UTC text)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def credential_for(key: str) -> Credential | None:
    """The credential of a key, unless revoked. Asked on every request, so in plain SQL (the
    ORM spends ten times the query's cost building it); every concrete field is read, from the
    model's metadata, and the instance is built as the ORM would (`from_db`)."""
    sql, names, converters = _credential_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        value if convert is None or value is None else convert(value)
        for convert, value in zip(converters, row, strict=True)
    ]
    return Credential.from_db(connection.alias, names, values)


def authorities(credential_ids: set[int | None]) -> dict[int | None, dict[str, Any]]:
    """The Agent each credential stands for as `authority` (one query for a page)."""
    rows = Credential.objects.filter(pk__in=[c for c in credential_ids if c is not None])
    out: dict[int | None, dict[str, Any]] = {
        row.pk: {
            "objectType": "Agent",
            "name": row.name,
            "account": {"homePage": _home(), "name": row.key},
        }
        for row in rows.only("pk", "name", "key")
    }
    unknown = {"objectType": "Agent", "account": {"homePage": _home(), "name": "unknown"}}
    return {c: out.get(c, unknown) for c in credential_ids}


def _home() -> str:
    return str(settings.UPTAKE_BASE_URL) + "/xapi/"


def format_stored(stored: dt.datetime) -> str:
    return stored.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _statement(
    sid: Any, stored: dt.datetime, data: str, authority: dict[str, Any]
) -> dict[str, Any]:
    st = rules.loads(data)
    out = {"id": str(sid), **st}
    out["stored"] = format_stored(stored)
    out.setdefault("timestamp", out["stored"])
    out["authority"] = authority
    out.setdefault("version", "1.0.0")
    return out


def get_statement(*, tenant_id: int, statement_id: str, voided: bool) -> dict[str, Any] | None:
    """One statement by id: `voided=False` for statementId (a voided one is not found),
    `voided=True` for voidedStatementId (only a voided one is found)."""
    row = (
        Statement.objects.filter(
            tenant_id=tenant_id, statement_id=uuid.UUID(statement_id), voided=voided
        )
        .values_list("statement_id", "stored", "credential_id", "data")
        .first()
    )
    if row is None:
        return None
    sid, stored, credential_id, data = row
    return _statement(sid, stored, data, authorities({credential_id})[credential_id])


@dataclass(frozen=True)
class StatementQuery:
    agent: dict[str, Any] | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = MAX_LIMIT
    ascending: bool = False
    after: tuple[dt.datetime, int] | None = None  # the cursor of the `more` link
    v2: bool = False  # an xAPI 2.0 query: related_agents also looks in contextAgents/Groups


@dataclass(frozen=True)
class StatementPage:
    statements: list[dict[str, Any]]
    next_after: tuple[dt.datetime, int] | None


def _filters(q: StatementQuery) -> list[Q] | None:
    """The statement filters as alternatives (OR) of conditions that each fit one index: the
    agent filter is the actor or the object. None: nothing can match; [Q()]: no filter."""
    cond = Q()
    if q.verb is not None:
        ids = verb_ids({q.verb}, create=False)
        if not ids:
            return None
        cond &= Q(verb_id=ids[q.verb])
    if q.activity is not None and not q.related_activities:
        cond &= Q(object_key=rules.activity_key(q.activity))
    if q.registration is not None:
        cond &= Q(registration=uuid.UUID(q.registration))
    if q.agent is not None and not q.related_agents:
        key = rules.agent_key(q.agent)
        return [cond & Q(actor_key=key), cond & Q(object_key=key)]
    return [cond]


def _window(qs: QuerySet[Statement], q: StatementQuery) -> QuerySet[Statement]:
    if q.since is not None:
        qs = qs.filter(stored__gt=q.since)
    if q.until is not None:
        qs = qs.filter(stored__lte=q.until)
    if q.after is not None:
        stored, pk = q.after
        if q.ascending:
            qs = qs.filter(Q(stored__gt=stored) | Q(stored=stored, id__gt=pk))
        else:
            qs = qs.filter(Q(stored__lt=stored) | Q(stored=stored, id__lt=pk))
    order = ("stored", "id") if q.ascending else ("-stored", "-id")
    return qs.order_by(*order)


def _branches(tenant_id: int, q: StatementQuery) -> list[QuerySet[Statement]] | None:
    """Querysets whose union, in stored order, is the answer (each one index-friendly)."""
    alternatives = _filters(q)
    if alternatives is None:
        return None
    live = Statement.objects.filter(tenant_id=tenant_id, voided=False)
    branches = [_window(live.filter(cond), q) for cond in alternatives]
    if any(alternatives) and _has_refs(tenant_id):
        # Statements that refer to a matching statement (even a voided one) match too
        # (xAPI 1.0.3, 2.1.3 "Filter Conditions for StatementRefs").
        either = alternatives[0]
        for cond in alternatives[1:]:
            either |= cond
        targets = Statement.objects.filter(either, tenant_id=tenant_id).values("statement_id")
        branches.append(_window(live.filter(ref_id__in=targets), q))
    return branches


def _has_refs(tenant_id: int) -> bool:
    return Statement.objects.filter(tenant_id=tenant_id, ref_id__isnull=False).exists()


def _matches(st: dict[str, Any], q: StatementQuery) -> bool:
    if (
        q.agent is not None
        and q.related_agents
        and rules.agent_key(q.agent)
        not in (xapi_v2.related_agent_keys(st) if q.v2 else rules.related_agent_keys(st))
    ):
        return False
    return not (
        q.activity is not None
        and q.related_activities
        and q.activity not in rules.related_activity_ids(st)
    )


def find_statements(*, tenant_id: int, query: StatementQuery) -> StatementPage:
    """Statements matching every filter, newest stored first (oldest with `ascending`), at most
    `limit`; voided statements are left out. `next_after` is set when there are more."""
    branches = _branches(tenant_id, query)
    if branches is None:
        return StatementPage([], None)
    limit = min(query.limit or MAX_LIMIT, MAX_LIMIT)
    scan = (query.agent is not None and query.related_agents) or (
        query.activity is not None and query.related_activities
    )
    fields = ("id", "statement_id", "stored", "credential_id", "data")
    if scan:
        rows: Iterator[tuple[Any, ...]] = _scan(branches, query)
    else:
        merged = {row[0]: row for qs in branches for row in qs.values_list(*fields)[: limit + 1]}
        ordered = sorted(merged.values(), key=lambda r: (r[2], r[0]), reverse=not query.ascending)
        rows = iter(ordered[: limit + 1])
    found: list[tuple[int, dt.datetime, dict[str, Any]]] = []
    known: dict[int | None, dict[str, Any]] = {}
    for pk, sid, stored, credential_id, data in rows:
        if credential_id not in known:
            known.update(authorities({credential_id}))
        st = _statement(sid, stored, data, known[credential_id])
        if scan and not _matches(st, query):
            continue
        found.append((pk, stored, st))
        if len(found) > limit:
            break
    more = len(found) > limit
    found = found[:limit]
    next_after = (found[-1][1], found[-1][0]) if more and found else None
    return StatementPage([st for _pk, _stored, st in found], next_after)


def _scan(branches: list[QuerySet[Statement]], q: StatementQuery) -> Iterator[tuple[Any, ...]]:
    """Rows of the union of the branches in stored order, read in chunks (for the filters
    that look into the statement's JSON: related agents and activities)."""
    qs = branches[0]
    for other in branches[1:]:
        qs = qs | other
    qs = qs.order_by(*(("stored", "id") if q.ascending else ("-stored", "-id")))
    fields = ("id", "statement_id", "stored", "credential_id", "data")
    offset = 0
    while True:
        chunk = list(qs.values_list(*fields)[offset : offset + _SCAN_CHUNK])
        yield from chunk
        if len(chunk) < _SCAN_CHUNK:
            return
        offset += _SCAN_CHUNK


def attachments_for(*, tenant_id: int, statements: list[dict[str, Any]]) -> list[Attachment]:
    wanted: set[str] = set()
    for st in statements:
        for att in st.get("attachments", []) or []:
            wanted.add(att.get("sha2"))
        obj = st.get("object") or {}
        for att in (
            obj.get("attachments", []) or [] if obj.get("objectType") == "SubStatement" else []
        ):
            wanted.add(att.get("sha2"))
    if not wanted:
        return []
    return list(Attachment.objects.filter(tenant_id=tenant_id, sha2__in=wanted))


# --- documents ------------------------------------------------------------------------------


def get_document(*, tenant_id: int, key: DocumentKey) -> Document | None:
    return Document.objects.filter(
        tenant_id=tenant_id,
        kind=key.kind,
        activity_id=key.activity_id,
        agent_key=key.agent_key,
        registration=key.registration,
        document_id=key.document_id,
    ).first()


def document_ids(*, tenant_id: int, key: DocumentKey, since: dt.datetime | None) -> list[str]:
    qs = Document.objects.filter(
        tenant_id=tenant_id, kind=key.kind, activity_id=key.activity_id, agent_key=key.agent_key
    )
    if key.kind == Document.Kind.STATE:
        qs = qs.filter(registration=key.registration)
    if since is not None:
        qs = qs.filter(updated_at__gt=since)
    return list(qs.order_by("document_id").values_list("document_id", flat=True))


def activity(*, tenant_id: int, activity_id: str) -> dict[str, Any] | None:
    row = (
        ActivityDefinition.objects.filter(tenant_id=tenant_id, key=rules.activity_key(activity_id))
        .values_list("definition", flat=True)
        .first()
    )
    if row is None:
        return None
    out: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if row:
        out["definition"] = row
    return out
