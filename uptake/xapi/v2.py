"""Pure xAPI 2.0 (IEEE 9274.1.1) logic: what differs from 1.0.3 (ADR 0019).

A request sent with `X-Experience-API-Version: 2.0.x` is validated here: the 2.0-only parts
(`context.contextAgents`, `context.contextGroups`, a `version` of 2.0.x, a timestamp's
required offset) are checked by this module, and the rest by the 1.0.3 rules in `rules.py`
(unchanged) on a copy without those parts. The statement itself is stored as sent, so a
timestamp keeps its offset and the exact text the client wrote.

Reading: 2.0 clients get statements as stored; 1.0.x clients get them without the 2.0-only
context properties (a 1.0.3 statement cannot carry them), with everything else unchanged.

No ORM and no I/O here.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from uptake.xapi import rules
from uptake.xapi.rules import Invalid

VERSION = "2.0.0"
# A statement's `version` under 2.0: 1.0.x (statements written for 1.0) or 2.0.x.
_STATEMENT_VERSION = re.compile(r"^(?:1\.0|2\.0)(?:\.\d+)?$")
# Under 2.0 a timestamp carries its offset (Z or +hh:mm / -hh:mm): the time zone of the
# learner's clock is part of the record and is kept as sent.
_HAS_OFFSET = re.compile(r"(?:Z|z|[+-]\d{2}(?::?\d{2})?)$")
_SECONDS = re.compile(r"(\d+)(?:[.,](\d+))?S$")

V2_CONTEXT_KEYS = ("contextAgents", "contextGroups")
_CONTEXT_AGENT_KEYS = frozenset(("objectType", "agent", "relevantTypes"))
_CONTEXT_GROUP_KEYS = frozenset(("objectType", "group", "relevantTypes"))


def _fail(path: str, message: str) -> None:
    raise Invalid(f"{path}: {message}")


def _relevant_types(item: dict[str, Any], path: str) -> None:
    if "relevantTypes" not in item:
        return
    types = item["relevantTypes"]
    if not isinstance(types, list) or not types:
        _fail(f"{path}.relevantTypes", "must be a non-empty array of activity type IRIs")
    for n, iri in enumerate(types):
        if not rules.is_iri(iri):
            _fail(f"{path}.relevantTypes[{n}]", "must be an IRI (e.g. http://...)")


def _validate_context_list(
    value: Any, path: str, *, kind: str, member: str, keys: frozenset[str], check: Any
) -> None:
    """An array of {objectType `kind`, `member`, relevantTypes?}; `check(member, path)`."""
    if not isinstance(value, list):
        _fail(path, f"must be an array of {kind} objects")
    for n, item in enumerate(value):
        here = f"{path}[{n}]"
        if not isinstance(item, dict):
            _fail(here, "must be a JSON object")
        extra = set(item) - keys
        if extra:
            _fail(here, f"unexpected properties {sorted(extra)}")
        if item.get("objectType") != kind:
            _fail(f"{here}.objectType", f'must be "{kind}"')
        if member not in item:
            _fail(here, f"needs {'an' if member[0] in 'aeiou' else 'a'} {member}")
        check(item[member], f"{here}.{member}")
        _relevant_types(item, here)


def _context_group_member(group: Any, path: str) -> None:
    if isinstance(group, dict) and "objectType" not in group:
        _fail(f"{path}.objectType", 'must be "Group"')
    rules.validate_group(group, path)


def validate_context_agents(value: Any, path: str) -> None:
    """`contextAgents`: an array of {objectType "contextAgent", agent, relevantTypes?}."""
    _validate_context_list(
        value,
        path,
        kind="contextAgent",
        member="agent",
        keys=_CONTEXT_AGENT_KEYS,
        check=rules.validate_agent,
    )


def validate_context_groups(value: Any, path: str) -> None:
    """`contextGroups`: an array of {objectType "contextGroup", group, relevantTypes?}."""
    _validate_context_list(
        value,
        path,
        kind="contextGroup",
        member="group",
        keys=_CONTEXT_GROUP_KEYS,
        check=_context_group_member,
    )


def _timestamp(value: Any, path: str) -> None:
    """The offset 2.0 requires (the 1.0.3 rules check the rest of the format afterwards)."""
    if isinstance(value, str) and not _HAS_OFFSET.search(value):
        rules.parse_timestamp(value, path)  # not a timestamp at all: says so first
        _fail(path, "needs a time zone offset under xAPI 2.0 (Z or e.g. +02:00)")


def _without_v2(st: dict[str, Any], path: str) -> dict[str, Any]:
    """Check the 2.0-only parts of a statement (or SubStatement) and return a shallow copy
    without them, for the 1.0.3 rules to check the rest."""
    out = dict(st)
    pre = f"{path}." if path else ""
    ctx = st.get("context")
    if isinstance(ctx, dict) and any(k in ctx for k in V2_CONTEXT_KEYS):
        # Content repeats the same lists statement after statement: a list whose text passed
        # once is looked up, not walked again (the 1.0.3 rules' cache, ADR 0012).
        if "contextAgents" in ctx:
            rules._checked(
                ctx["contextAgents"], validate_context_agents, f"{pre}context.contextAgents", b"A"
            )
        if "contextGroups" in ctx:
            rules._checked(
                ctx["contextGroups"], validate_context_groups, f"{pre}context.contextGroups", b"G"
            )
        out["context"] = {k: v for k, v in ctx.items() if k not in V2_CONTEXT_KEYS}
    if "timestamp" in st:
        _timestamp(st["timestamp"], f"{pre}timestamp")
    obj = st.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        out["object"] = _without_v2(obj, f"{pre}object")
    return out


def validate_statement(value: Any) -> dict[str, Any]:
    """Check one statement against xAPI 2.0; returns it (unchanged) or raises Invalid."""
    if not isinstance(value, dict):
        _fail("statement", "must be a JSON object")
    st: dict[str, Any] = value
    if "version" in st and (
        not isinstance(st["version"], str) or not _STATEMENT_VERSION.match(st["version"])
    ):
        _fail("version", 'must be "1.0", "1.0.x", "2.0" or "2.0.x"')
    checked = _without_v2(st, "")
    checked.pop("version", None)  # checked above (the 1.0.3 rule knows only 1.0.x)
    rules.validate_statement(checked)
    return st


def stamp(st: dict[str, Any]) -> dict[str, Any]:
    """A statement accepted through 2.0 without a version is a 2.0.0 statement (stored so:
    1.0.x readers see the version it was accepted with)."""
    if "version" not in st:
        st["version"] = VERSION
    return st


# --- reading --------------------------------------------------------------------------------


def _strip_context(st: dict[str, Any]) -> dict[str, Any]:
    ctx = st.get("context")
    obj = st.get("object")
    has_sub = isinstance(obj, dict) and obj.get("objectType") == "SubStatement"
    if not (isinstance(ctx, dict) and any(k in ctx for k in V2_CONTEXT_KEYS)) and not has_sub:
        return st
    out = dict(st)
    if isinstance(ctx, dict) and any(k in ctx for k in V2_CONTEXT_KEYS):
        out["context"] = {k: v for k, v in ctx.items() if k not in V2_CONTEXT_KEYS}
        if not out["context"]:
            del out["context"]
    if has_sub:
        out["object"] = _strip_context(obj)  # type: ignore[arg-type]
    return out


def for_v1(st: dict[str, Any]) -> dict[str, Any]:
    """A stored statement as a 1.0.x client gets it: without contextAgents / contextGroups,
    which 1.0.3 has no place for (they stay stored; 2.0 clients get them)."""
    return _strip_context(st)


def format_ids(st: dict[str, Any]) -> dict[str, Any]:
    """`format=ids` under 2.0: the 1.0.3 form, plus the agents and groups of contextAgents /
    contextGroups by their identifiers only."""
    out = rules.format_ids(st)

    def ids_context(src: dict[str, Any], dst: dict[str, Any]) -> None:
        ctx = src.get("context")
        if not isinstance(ctx, dict) or not any(k in ctx for k in V2_CONTEXT_KEYS):
            return
        new_ctx = dict(dst["context"])
        if "contextAgents" in ctx:
            new_ctx["contextAgents"] = [
                {**item, "agent": rules._ids_agent(item["agent"])} for item in ctx["contextAgents"]
            ]
        if "contextGroups" in ctx:
            new_ctx["contextGroups"] = [
                {**item, "group": rules._ids_agent(item["group"])} for item in ctx["contextGroups"]
            ]
        dst["context"] = new_ctx

    ids_context(st, out)
    obj = st.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        ids_context(obj, out["object"])
    return out


def related_agent_keys(st: dict[str, Any]) -> set[int]:
    """The 1.0.3 related agents plus those of contextAgents and contextGroups."""
    keys = rules.related_agent_keys(st)

    def walk(s: dict[str, Any]) -> None:
        ctx = s.get("context") or {}
        for item in ctx.get("contextAgents", []) or []:
            if isinstance(item, dict) and isinstance(item.get("agent"), dict):
                keys.add(rules.agent_key(item["agent"]))
        for item in ctx.get("contextGroups", []) or []:
            group = item.get("group") if isinstance(item, dict) else None
            if isinstance(group, dict):
                keys.add(rules.agent_key(group))
                for member in group.get("member", []) or []:
                    if isinstance(member, dict):
                        keys.add(rules.agent_key(member))
        obj = s.get("object") or {}
        if obj.get("objectType") == "SubStatement":
            walk(obj)

    walk(st)
    return keys


# --- comparing (signatures, id conflicts) -----------------------------------------------------


def _truncate_duration(value: Any) -> Any:
    """A duration with its seconds cut to hundredths: 2.0 compares durations to 0.01 s."""
    if not isinstance(value, str):
        return value
    m = _SECONDS.search(value)
    if not m or not m.group(2):
        return value
    fraction = m.group(2)[:2]
    return value[: m.start()] + f"{m.group(1)}.{fraction}S"


def comparable(st: dict[str, Any]) -> dict[str, Any]:
    """A copy of a statement as 2.0 compares it: result.duration to hundredths of a second
    (also in a SubStatement)."""
    out = dict(st)
    res = st.get("result")
    if isinstance(res, dict) and "duration" in res:
        out["result"] = {**res, "duration": _truncate_duration(res["duration"])}
    obj = st.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        out["object"] = comparable(obj)
    return out


def same_statement(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return rules.same_statement(comparable(a), comparable(b))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def check_signature(st: dict[str, Any], jws: bytes) -> None:
    """The 1.0.3 signature check, comparing durations to hundredths of a second (2.0)."""
    try:
        header_b64, payload_b64, signature = jws.decode("ascii").strip().split(".")
        payload = json.loads(rules._b64url(payload_b64))
    except (ValueError, UnicodeDecodeError):
        rules.check_signature(st, jws)  # says what is wrong
        return
    if isinstance(payload, dict):
        payload = comparable(payload)
        payload_b64 = _b64url(json.dumps(payload).encode())
    rules.check_signature(comparable(st), f"{header_b64}.{payload_b64}.{signature}".encode("ascii"))
