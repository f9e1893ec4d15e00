"""Writes of the record store: credentials, statements (batches), documents.

`store_statements` is the ingest path: validate every statement first (a batch is all or
nothing), resolve id conflicts against the store in one query, then insert the batch with
set-based SQL (`uptake.core.bulk.insert_rows`), flag voided targets, keep the canonical
activity definitions, keep attachments, and feed statements about Uptake activities to
progress, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction

from uptake.core import bulk, clock
from uptake.core.actor import Actor
from uptake.core.errors import Conflict, ValidationFailed
from uptake.xapi import rules
from uptake.xapi import v2 as xapi_v2
from uptake.xapi.models import ActivityDefinition, Attachment, Credential, Document, Statement, Verb
from uptake.xapi.write_turn import write_turn

KEY_PREFIX = "xk_"


# --- credentials ----------------------------------------------------------------------------


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_credential(
    *, actor: Actor, tenant_id: int, name: str, can_read: bool = True, can_write: bool = True
) -> tuple[Credential, str]:
    """A new key and secret for an xAPI client; returns (credential, raw secret). The secret
    is returned once and only its hash is kept."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the credential a name, e.g. the client that will use it.")
    if not (can_read or can_write):
        raise ValidationFailed("A credential needs the read scope, the write scope or both.")
    secret = secrets.token_hex(24)  # hex: no leading "-" to confuse command lines
    credential = Credential.objects.create(
        tenant_id=tenant_id,
        name=name[:100],
        key=KEY_PREFIX + secrets.token_hex(12),
        secret_hash=hash_secret(secret),
        can_read=can_read,
        can_write=can_write,
    )
    return credential, secret


def revoke_credential(*, actor: Actor, credential: Credential) -> Credential:
    if credential.revoked_at is None:
        credential.revoked_at = clock.now()
        credential.save(update_fields=["revoked_at", "updated_at"])
    from uptake.xapi import wire  # (wire imports services)

    wire.forget_credential(credential.key)
    return credential


# --- statements -----------------------------------------------------------------------------


class StatementConflict(Conflict):
    code = "xapi-statement-conflict"


@dataclass(frozen=True)
class AttachmentPart:
    sha2: str
    content_type: str
    content: bytes


_verb_ids: dict[str, int] = {}


def verb_ids(iris: set[str], *, create: bool) -> dict[str, int]:
    """Small integer ids of verb IRIs. Rows are never deleted, but the process cache only
    learns ids once the transaction that saw them commits (a rolled-back insert is not cached)."""
    found = {iri: _verb_ids[iri] for iri in iris if iri in _verb_ids}
    missing = [iri for iri in iris if iri not in found]
    if missing:
        learned: dict[str, int] = {}
        for chunk in bulk.chunks(missing):
            learned.update(Verb.objects.filter(iri__in=chunk).values_list("iri", "id"))
        still = sorted(iri for iri in missing if iri not in learned)  # one order: no deadlock
        if still and create:
            bulk.insert_rows(Verb, ["iri"], [(iri,) for iri in still], ignore_conflicts=True)
            learned.update(Verb.objects.filter(iri__in=still).values_list("iri", "id"))
        found.update(learned)
        transaction.on_commit(lambda: _verb_ids.update(learned))
    return found


def stored_now() -> dt.datetime:
    """The stored time, to the millisecond (what we show is exactly what we compare)."""
    now = clock.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def compact(st: dict[str, Any]) -> str:
    body = {k: v for k, v in st.items() if k not in ("id", "stored", "authority")}
    return rules.dumps(body)


def _check_attachments(
    statements: list[dict[str, Any]], parts: dict[str, AttachmentPart], *, v2: bool = False
) -> None:
    """Every attachment without a fileUrl has its content in the request, and every part sent
    belongs to an attachment; signatures are checked against their statement."""
    wanted: set[str] = set()
    for n, st in enumerate(statements):
        for att in st.get("attachments", []) or []:
            if "fileUrl" not in att or att["sha2"] in parts:
                if att["sha2"] not in parts:
                    raise ValidationFailed(
                        f"statement {n}: attachment {att['sha2'][:16]}… has no fileUrl and its "
                        "content is not in the request"
                    )
                wanted.add(att["sha2"])
            if att["usageType"] == rules.SIGNATURE:
                part = parts.get(att["sha2"])
                if part is None:
                    raise ValidationFailed(f"statement {n}: the signature is not in the request")
                if att["contentType"] != "application/octet-stream":
                    raise ValidationFailed(
                        f"statement {n}: a signature's contentType must be application/octet-stream"
                    )
                try:
                    (xapi_v2.check_signature if v2 else rules.check_signature)(st, part.content)
                except rules.Invalid as exc:
                    raise ValidationFailed(f"statement {n}: {exc}") from exc
    extra = set(parts) - wanted
    if extra:
        raise ValidationFailed(
            "the request has attachment parts that no statement refers to: "
            + ", ".join(sorted(s[:16] + "…" for s in extra))
        )


def _prepare(statements: list[Any], *, v2: bool = False) -> list[dict[str, Any]]:
    out = []
    seen: set[str] = set()
    for n, raw in enumerate(statements):
        try:
            st = xapi_v2.validate_statement(raw) if v2 else rules.validate_statement(raw)
        except rules.Invalid as exc:
            where = f"statement {n}: " if len(statements) > 1 else ""
            raise ValidationFailed(f"{where}{exc}") from exc
        st = rules.normalise(dict(st))
        st["id"] = str(st.get("id") or uuid.uuid4()).lower()
        if st["id"] in seen:
            raise ValidationFailed(f"statement {n}: id {st['id']} is used twice in this request")
        seen.add(st["id"])
        st.pop("stored", None)
        st.pop("authority", None)
        if v2:
            xapi_v2.stamp(st)
        out.append(st)
    return out


def store_statements(
    *,
    actor: Actor,
    credential: Credential,
    statements: list[Any],
    attachments: dict[str, AttachmentPart] | None = None,
    v2: bool = False,
) -> list[str]:
    """Validate and store a batch; returns the statement ids in order. All or nothing:
    ValidationFailed (400) for any invalid statement, StatementConflict (409) when an id is
    already stored with different content. A statement already stored with the same content
    is not stored twice. `v2`: the request came as xAPI 2.0 (validated by its rules, ADR 0019)."""
    parts = attachments or {}
    prepared = _prepare(statements, v2=v2)
    _check_attachments(prepared, parts, v2=v2)
    same_statement = xapi_v2.same_statement if v2 else rules.same_statement
    tenant_id = credential.tenant_id
    with write_turn(), transaction.atomic():
        existing = _existing(tenant_id, [st["id"] for st in prepared])
        new = []
        for st in prepared:
            old = existing.get(st["id"])
            if old is None:
                new.append(st)
            elif not same_statement(old, st):
                raise StatementConflict(
                    f"A different statement with id {st['id']} is already stored; statements "
                    "cannot be changed."
                )
        if new:
            _insert(tenant_id, credential.pk, new)
            _store_attachments(tenant_id, parts)
            from uptake.xapi import uptake_link

            uptake_link.apply(actor=actor, tenant_id=tenant_id, statements=new)
            # Statements of a cmi5 AU session: the cmi5 rules (403, nothing stored), moveOn.
            from uptake.cmi5 import lrs as cmi5_lrs

            cmi5_lrs.statements_stored(actor=actor, credential=credential, statements=new)
    return [st["id"] for st in prepared]


def _uuid_db(value: str, *, native: bool | None = None) -> Any:
    """A UUID string (already validated) as the database column wants it: PostgreSQL casts
    the text to its uuid type itself, SQLite keeps 32 lower-case hex digits (Django's form).
    `native`: whether the database has a uuid type, when the caller already knows."""
    if native is None:
        native = connection.vendor == "postgresql"
    return value if native else value.replace("-", "").lower()


def _uuid_text(value: Any) -> str:
    """A UUID read from the database in its standard string form."""
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value).lower()
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


def _existing(tenant_id: int, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The statements already stored under these ids (plain SQL: building an ORM IN list of
    100 UUIDs costs more than the query)."""
    qn = connection.ops.quote_name
    meta = Statement._meta
    table = qn(meta.db_table)
    out: dict[str, dict[str, Any]] = {}
    native = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for chunk in bulk.chunks(ids, 500):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {qn('statement_id')}, {qn('data')} FROM {table} "  # noqa: S608
                f"WHERE {qn('tenant_id')} = %s AND {qn('statement_id')} IN ({marks})",
                [tenant_id, *(_uuid_db(i, native=native) for i in chunk)],
            )
            for sid, data in cursor.fetchall():
                out[_uuid_text(sid)] = rules.loads(data)
    return out


_STATEMENT_COLUMNS = (
    "tenant_id",
    "statement_id",
    "stored",
    "actor_key",
    "verb_id",
    "object_key",
    "registration",
    "ref_id",
    "voided",
    "credential_id",
    "data",
)


def _insert_sql() -> str:
    qn = connection.ops.quote_name
    meta = Statement._meta
    cols = ", ".join(qn(meta.get_field(n).column or n) for n in _STATEMENT_COLUMNS)  # type: ignore[union-attr]
    marks = ", ".join(["%s"] * len(_STATEMENT_COLUMNS))
    table = qn(meta.db_table)
    # Identifiers come from the model's metadata; values are parameters. A statement stored
    # by a concurrent request in between is skipped (its id is the same statement).
    if connection.vendor == "postgresql":
        return f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
    return f"INSERT OR IGNORE INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608


def _insert(tenant_id: int, credential_id: int, statements: list[dict[str, Any]]) -> None:
    """One parameterised INSERT for the batch, values prepared here once (not per field)."""
    stored = connection.ops.adapt_datetimefield_value(stored_now())
    verbs = verb_ids({st["verb"]["id"] for st in statements}, create=True)
    voided_verb = verbs.get(rules.VOIDED)
    native = connection.vendor == "postgresql"
    rows = []
    targets: list[str] = []
    for st in statements:
        obj = st["object"]
        ref = None
        if obj.get("objectType") == "StatementRef":
            ref = _uuid_db(obj["id"], native=native)
            if st["verb"]["id"] == rules.VOIDED:
                targets.append(obj["id"])
        registration = (st.get("context") or {}).get("registration")
        rows.append(
            (
                tenant_id,
                _uuid_db(st["id"], native=native),
                stored,
                rules.agent_key(st["actor"]),
                verbs[st["verb"]["id"]],
                rules.object_key(obj),
                _uuid_db(registration, native=native) if registration else None,
                ref,
                False,
                credential_id,
                compact(st),
            )
        )
    with connection.cursor() as cursor:
        cursor.executemany(_insert_sql(), rows)
        inserted = cursor.rowcount
    if inserted != len(rows):
        # A concurrent request stored some of these ids between our check and our insert:
        # the same statement is fine, a different one is a conflict (the batch rolls back).
        stored_now_ = _existing(tenant_id, [st["id"] for st in statements])
        for st in statements:
            other = stored_now_.get(st["id"])
            if other is not None and not rules.same_statement(other, st):
                raise StatementConflict(
                    f"A different statement with id {st['id']} was stored at the same time."
                )
    if targets:
        # A voiding statement that targets another voiding statement is kept but voids nothing.
        for chunk in bulk.chunks(targets):
            Statement.objects.filter(tenant_id=tenant_id, statement_id__in=chunk).exclude(
                verb_id=voided_verb or 0
            ).update(voided=True)
    _keep_definitions(tenant_id, statements)


def _definitions(st: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(activity id, definition) of every activity of a statement that comes with one."""
    found = []

    def walk(s: dict[str, Any]) -> None:
        obj = s.get("object") or {}
        kind = obj.get("objectType", "Activity")
        acts = [obj] if kind == "Activity" else []
        if kind == "SubStatement":
            walk(obj)
        for items in ((s.get("context") or {}).get("contextActivities") or {}).values():
            acts.extend(items)
        for act in acts:
            if act.get("definition"):
                found.append((act["id"], act["definition"]))

    walk(st)
    return found


# (tenant id, activity key) -> the stored definition, learnt when a transaction commits; lets
# a batch that repeats known definitions skip the read (bounded: cleared when it grows big).
_known_definitions: dict[tuple[int, int], dict[str, Any]] = {}
_KNOWN_DEFINITIONS_MAX = 50_000


def _remember(learned: dict[tuple[int, int], dict[str, Any]]) -> None:
    if len(_known_definitions) + len(learned) > _KNOWN_DEFINITIONS_MAX:
        _known_definitions.clear()
    _known_definitions.update(learned)


def _stored_definitions(tenant_id: int, keys: list[int]) -> dict[int, tuple[int, dict[str, Any]]]:
    """{activity key: (row id, definition)} of the stored definitions among `keys` (plain SQL:
    asked for most requests until the process knows the tenant's activities)."""
    qn = connection.ops.quote_name
    table = qn(ActivityDefinition._meta.db_table)
    out: dict[int, tuple[int, dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        for chunk in bulk.chunks(keys, 500):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {qn('id')}, {qn('key')}, {qn('definition')} FROM {table} "  # noqa: S608
                f"WHERE {qn('tenant_id')} = %s AND {qn('key')} IN ({marks})",
                [tenant_id, *chunk],
            )
            for pk, key, definition in cursor.fetchall():
                if isinstance(definition, (str, bytes)):
                    definition = rules.loads(definition)
                out[key] = (pk, definition)
    return out


def _keep_definitions(tenant_id: int, statements: list[dict[str, Any]]) -> None:
    """Upsert the canonical definition of every activity the batch defines."""
    merged: dict[str, dict[str, Any]] = {}
    for st in statements:
        for activity_id, definition in _definitions(st):
            old = merged.get(activity_id)
            merged[activity_id] = (
                definition if old is None else rules.merge_definition(old, definition)
            )
    if not merged:
        return
    keys: dict[int, str] = {}
    for activity_id, definition in merged.items():
        key = rules.activity_key(activity_id)
        known = _known_definitions.get((tenant_id, key))
        if known is None or rules.merge_definition(known, definition) != known:
            keys[key] = activity_id
    if not keys:
        return
    current = _stored_definitions(tenant_id, list(keys))
    now = clock.now()
    inserts = []
    updates = []
    learned: dict[tuple[int, int], dict[str, Any]] = {}
    for key, activity_id in keys.items():
        new_def = merged[activity_id]
        if key in current:
            pk, old_def = current[key]
            combined = rules.merge_definition(old_def, new_def)
            if combined != old_def:
                updates.append((pk, (combined, now)))
        else:
            combined = new_def
            inserts.append((tenant_id, activity_id, key, new_def, now, now))
        learned[(tenant_id, key)] = combined
    # Rows are written in key (and id) order: concurrent batches that define the same
    # activities then wait for each other in one order, never in a cycle (a deadlock on
    # PostgreSQL otherwise, seen with two web processes ingesting the same content).
    inserts.sort(key=lambda row: row[2])
    bulk.insert_rows(
        ActivityDefinition,
        ["tenant_id", "activity_id", "key", "definition", "created_at", "updated_at"],
        inserts,
        ignore_conflicts=True,
    )
    if updates:
        qn = connection.ops.quote_name
        updated = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {qn(ActivityDefinition._meta.db_table)} SET {qn('definition')} = %s, "  # noqa: S608
                f"{qn('updated_at')} = %s WHERE {qn('id')} = %s",
                [
                    (rules.dumps(d), updated, pk)
                    for pk, (d, _now) in sorted(updates, key=lambda u: u[0])
                ],
            )
    transaction.on_commit(lambda: _remember(learned))


def _store_attachments(tenant_id: int, parts: dict[str, AttachmentPart]) -> None:
    if not parts:
        return
    now = clock.now()
    bulk.insert_rows(
        Attachment,
        ["tenant_id", "sha2", "content_type", "content", "created_at", "updated_at"],
        [(tenant_id, p.sha2, p.content_type, p.content, now, now) for p in parts.values()],
        ignore_conflicts=True,
    )


# --- documents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentKey:
    kind: str
    activity_id: str = ""
    agent_key: int = 0
    registration: str = ""
    document_id: str = ""


class PreconditionFailed(Conflict):
    status = 412
    code = "xapi-precondition-failed"
    title = "Precondition failed"


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def _check_preconditions(
    current: Document | None, *, if_match: str | None, if_none_match: str | None, strict: bool
) -> None:
    tags = lambda header: [t.strip().strip('"') for t in header.split(",")]  # noqa: E731
    if if_match is not None:
        wanted = tags(if_match)
        if current is None or ("*" not in wanted and current.etag not in wanted):
            raise PreconditionFailed("The document changed since you read it (If-Match).")
    if if_none_match is not None:
        wanted = tags(if_none_match)
        if current is not None and ("*" in wanted or current.etag in wanted):
            raise PreconditionFailed("The document already exists (If-None-Match).")
    if strict and if_match is None and if_none_match is None:
        if current is not None:
            raise Conflict(
                "This document already exists: send If-Match with its ETag to replace it."
            )
        raise ValidationFailed(
            "Send If-None-Match: * to create this document (or If-Match with the ETag of the "
            "document you read, to replace it)."
        )


def _current(tenant_id: int, key: DocumentKey, *, lock: bool = False) -> Document | None:
    qs = Document.objects.filter(
        tenant_id=tenant_id,
        kind=key.kind,
        activity_id=key.activity_id,
        agent_key=key.agent_key,
        registration=key.registration,
        document_id=key.document_id,
    )
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def save_document(
    *,
    actor: Actor,
    tenant_id: int,
    key: DocumentKey,
    content: bytes,
    content_type: str,
    merge: bool,
    if_match: str | None = None,
    if_none_match: str | None = None,
    strict: bool = False,
    exists_conflict: bool = False,
) -> Document:
    """PUT (replace) or POST (`merge`: JSON objects merged at the top level) one document.
    PreconditionFailed (412) when If-Match / If-None-Match do not hold; with `strict` (profile
    PUT), Conflict (409) when it exists and neither header is sent; ValidationFailed when a
    merge involves something that is not a JSON object."""
    content_type = (content_type or "application/octet-stream").split(";")[0].strip()
    with transaction.atomic():
        current = _current(tenant_id, key, lock=True)
        _check_preconditions(
            current, if_match=if_match, if_none_match=if_none_match, strict=strict and not merge
        )
        if exists_conflict and current is not None and if_match is None and if_none_match is None:
            # xAPI 2.0: a PUT without If-Match / If-None-Match must not replace a document.
            raise Conflict(
                "This document already exists: send If-Match with its ETag to replace it."
            )
        if merge and current is not None:
            try:
                old = json.loads(bytes(current.content))
                new = json.loads(content)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValidationFailed(
                    "Only JSON documents can be merged: send the document with PUT instead."
                ) from exc
            if not (isinstance(old, dict) and isinstance(new, dict)):
                raise ValidationFailed("Only JSON objects can be merged.")
            if current.content_type != "application/json" or content_type != "application/json":
                raise ValidationFailed("Only application/json documents can be merged.")
            content = json.dumps({**old, **new}, separators=(",", ":")).encode()
        elif merge:
            try:
                parsed = json.loads(content)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValidationFailed("A POSTed document must be a JSON object.") from exc
            if not isinstance(parsed, dict):
                raise ValidationFailed("A POSTed document must be a JSON object.")
        now = clock.now()
        if current is None:
            try:
                with transaction.atomic():
                    return Document.objects.create(
                        tenant_id=tenant_id,
                        kind=key.kind,
                        activity_id=key.activity_id,
                        agent_key=key.agent_key,
                        registration=key.registration,
                        document_id=key.document_id,
                        content=content,
                        content_type=content_type,
                        etag=etag_of(content),
                    )
            except IntegrityError as exc:
                raise Conflict("The document was created at the same time; try again.") from exc
        current.content = content
        current.content_type = content_type
        current.etag = etag_of(content)
        current.updated_at = now
        current.save(update_fields=["content", "content_type", "etag", "updated_at"])
        return current


def delete_documents(
    *,
    actor: Actor,
    tenant_id: int,
    key: DocumentKey,
    single: bool,
    if_match: str | None = None,
) -> int:
    """Delete one document (`single`) or every one under the key (state: all of an agent's
    states of an activity, optionally of one registration)."""
    with transaction.atomic():
        if single:
            current = _current(tenant_id, key, lock=True)
            _check_preconditions(current, if_match=if_match, if_none_match=None, strict=False)
            if current is None:
                return 0
            current.delete()
            return 1
        qs = Document.objects.filter(
            tenant_id=tenant_id, kind=key.kind, activity_id=key.activity_id, agent_key=key.agent_key
        )
        if key.registration:
            qs = qs.filter(registration=key.registration)
        deleted, _ = qs.delete()
        return deleted
