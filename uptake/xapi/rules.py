"""Pure xAPI 1.0.3 logic: statement validation, identifier keys, output formats.

No ORM and no I/O here. `validate_statement` raises `Invalid` with a precise message (the
path of the offending property and what is wrong); the views answer 400 with it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson

VOIDED = "http://adlnet.gov/expapi/verbs/voided"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$")
_MBOX = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_LANG = re.compile(
    r"^(?:(?:[a-zA-Z]{2,3}(?:-[a-zA-Z]{3}){0,3}|[a-zA-Z]{4,8})"
    r"(?:-[a-zA-Z]{4})?"
    r"(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-zA-Z0-9]{5,8}|[0-9][a-zA-Z0-9]{3}))*"
    r"(?:-[0-9a-wy-zA-WY-Z](?:-[a-zA-Z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[a-zA-Z0-9]{1,8})+)?"
    r"|[xX](?:-[a-zA-Z0-9]{1,8})+"
    r"|[iI]-[a-zA-Z]{2,8}"
    r"|en-GB-oed)$"
)
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"^P(?:{_NUM}W|(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)$"
)
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_VERSION = re.compile(r"^1\.0(?:\.\d+)?$")

INTERACTION_TYPES = {
    "true-false": (),
    "choice": ("choices",),
    "fill-in": (),
    "long-fill-in": (),
    "matching": ("source", "target"),
    "performance": ("steps",),
    "sequencing": ("choices",),
    "likert": ("scale",),
    "numeric": (),
    "other": (),
}
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")

STATEMENT_KEYS = frozenset(
    {
        "id",
        "actor",
        "verb",
        "object",
        "result",
        "context",
        "timestamp",
        "stored",
        "authority",
        "version",
        "attachments",
    }
)
SUBSTATEMENT_KEYS = frozenset(
    {
        "objectType",
        "actor",
        "verb",
        "object",
        "result",
        "context",
        "timestamp",
        "attachments",
    }
)
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
_AGENT_KEYS = frozenset(("objectType", "name", *IFIS))
_GROUP_KEYS = frozenset(("objectType", "name", "member", *IFIS))
_ACTIVITY_KEYS = frozenset(("objectType", "id", "definition"))
_VERB_KEYS = frozenset(("id", "display"))
_RESULT_KEYS = frozenset(("score", "success", "completion", "response", "duration", "extensions"))
_SCORE_KEYS = frozenset(("scaled", "raw", "min", "max"))
_CONTEXT_KEYS = frozenset(
    (
        "registration",
        "instructor",
        "team",
        "contextActivities",
        "revision",
        "platform",
        "language",
        "statement",
        "extensions",
    )
)
_CONTEXT_ACTIVITY_KEYS = frozenset(("parent", "grouping", "category", "other"))
_DEFINITION_KEYS = frozenset(
    (
        "name",
        "description",
        "type",
        "moreInfo",
        "extensions",
        "interactionType",
        "correctResponsesPattern",
        "choices",
        "scale",
        "source",
        "target",
        "steps",
    )
)


class Invalid(Exception):
    """The input breaks a rule of the xAPI specification (answered with 400)."""


def _fail(path: str, message: str) -> None:
    raise Invalid(f"{path}: {message}")


def _require_dict(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, "must be a JSON object")
    return value


def _keys(value: dict[str, Any], allowed: Iterable[str], path: str) -> None:
    if not isinstance(allowed, frozenset):
        allowed = frozenset(allowed)
    if allowed.issuperset(value):
        return
    extra = set(value) - allowed
    if extra:
        _fail(path, f"unexpected propert{'ies' if len(extra) > 1 else 'y'} {sorted(extra)}")


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        _fail(path, "must be a string")
    return value


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def _uuid(value: Any, path: str) -> None:
    if not is_uuid(value):
        _fail(path, "must be a UUID in its standard string form")


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and _is_iri_text(value)


@functools.lru_cache(maxsize=65536)
def _is_iri_text(value: str) -> bool:
    # Cached: the same verb, type and activity IRIs come back in every batch.
    return bool(_IRI.match(value))


def _iri(value: Any, path: str) -> None:
    if not is_iri(value):
        _fail(path, "must be an IRI with a scheme (e.g. http://...)")


def is_language_tag(value: Any) -> bool:
    return isinstance(value, str) and _is_language_tag_text(value)


@functools.lru_cache(maxsize=4096)
def _is_language_tag_text(value: str) -> bool:
    return bool(_LANG.match(value))


def _language_map(value: Any, path: str) -> None:
    _require_dict(value, path)
    for tag, text in value.items():
        if not is_language_tag(tag):
            _fail(path, f"{tag!r} is not an RFC 5646 language tag")
        if not isinstance(text, str):
            _fail(f"{path}.{tag}", "must be a string")


def _extensions(value: Any, path: str) -> None:
    _require_dict(value, path)
    for key in value:
        if not is_iri(key):
            _fail(path, f"extension key {key!r} must be an IRI")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(path, "must be a number")
    return float(value)


def _bool(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        _fail(path, "must be true or false")


# The shape nearly every client sends (UTC "Z" or a positive offset, a dot before the
# fraction): parsed by the C implementation, a tenth of the cost of the general parser below.
_COMMON_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|\+\d\d:\d\d)")


def parse_timestamp(value: Any, path: str = "timestamp") -> dt.datetime:
    """An ISO 8601 date and time; a missing offset means UTC; -00:00 offsets are refused."""
    if isinstance(value, str) and _COMMON_TIMESTAMP.fullmatch(value):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass  # e.g. February 30th: the general parser below says what is wrong
    if not isinstance(value, str):
        _fail(path, "must be an ISO 8601 timestamp string")
    m = _TIMESTAMP.match(value)
    if not m:
        _fail(path, f"{value!r} is not an ISO 8601 timestamp")
        raise AssertionError  # unreachable, for type checkers
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    if offset and offset.startswith("-") and set(offset[1:].replace(":", "")) == {"0"}:
        _fail(path, "an offset of -00:00 is not allowed")
    try:
        tz = dt.UTC
        if offset and offset != "Z":
            digits = offset[1:].replace(":", "")
            delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            tz = dt.timezone(-delta if offset[0] == "-" else delta)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tz
        )
    except ValueError:
        _fail(path, f"{value!r} is not a valid date and time")
        raise AssertionError from None


def _duration(value: Any, path: str) -> None:
    if not isinstance(value, str) or not _DURATION.match(value):
        _fail(path, "must be an ISO 8601 duration (e.g. PT1H30M)")


# --- actors -------------------------------------------------------------------------------


def _ifi_count(value: dict[str, Any], path: str) -> int:
    count = 0
    for ifi in IFIS:
        if ifi not in value:
            continue
        count += 1
        item = value[ifi]
        if ifi == "mbox":
            if not isinstance(item, str) or not _MBOX.match(item):
                _fail(f"{path}.mbox", "must be a mailto: IRI (mailto:name@example.com)")
        elif ifi == "mbox_sha1sum":
            if not isinstance(item, str) or not _SHA1.match(item):
                _fail(f"{path}.mbox_sha1sum", "must be a SHA-1 hex digest")
        elif ifi == "openid":
            _iri(item, f"{path}.openid")
        else:
            account = _require_dict(item, f"{path}.account")
            _keys(account, ("homePage", "name"), f"{path}.account")
            if "homePage" not in account or "name" not in account:
                _fail(f"{path}.account", "needs homePage and name")
            _iri(account["homePage"], f"{path}.account.homePage")
            _string(account["name"], f"{path}.account.name")
    return count


def validate_agent(value: Any, path: str = "agent") -> None:
    agent = _require_dict(value, path)
    _keys(agent, _AGENT_KEYS, path)
    if "objectType" in agent and agent["objectType"] != "Agent":
        _fail(f"{path}.objectType", 'must be "Agent"')
    if "name" in agent:
        _string(agent["name"], f"{path}.name")
    if _ifi_count(agent, path) != 1:
        _fail(path, "an Agent needs exactly one of mbox, mbox_sha1sum, openid, account")


def validate_group(value: Any, path: str) -> None:
    group = _require_dict(value, path)
    _keys(group, _GROUP_KEYS, path)
    if group.get("objectType") != "Group":
        _fail(f"{path}.objectType", 'must be "Group"')
    if "name" in group:
        _string(group["name"], f"{path}.name")
    ifis = _ifi_count(group, path)
    if ifis > 1:
        _fail(path, "a Group has at most one of mbox, mbox_sha1sum, openid, account")
    if ifis == 0 and "member" not in group:
        _fail(path, "an anonymous Group needs a member list")
    if "member" in group:
        members = group["member"]
        if not isinstance(members, list):
            _fail(f"{path}.member", "must be an array of Agents")
        for n, member in enumerate(members):
            validate_agent(member, f"{path}.member[{n}]")


def validate_actor(value: Any, path: str = "actor") -> None:
    actor = _require_dict(value, path)
    if actor.get("objectType") == "Group":
        validate_group(actor, path)
    else:
        validate_agent(actor, path)


# --- activities ---------------------------------------------------------------------------


def _components(value: Any, path: str) -> None:
    if not isinstance(value, list):
        _fail(path, "must be an array of interaction components")
    seen = set()
    for n, comp in enumerate(value):
        here = f"{path}[{n}]"
        _require_dict(comp, here)
        _keys(comp, ("id", "description"), here)
        if "id" not in comp:
            _fail(here, "needs an id")
        _string(comp["id"], f"{here}.id")
        if comp["id"] in seen:
            _fail(here, f"id {comp['id']!r} is used twice")
        seen.add(comp["id"])
        if "description" in comp:
            _language_map(comp["description"], f"{here}.description")


def validate_definition(value: Any, path: str) -> None:
    d = _require_dict(value, path)
    _keys(d, _DEFINITION_KEYS, path)
    for key in ("name", "description"):
        if key in d:
            _language_map(d[key], f"{path}.{key}")
    for key in ("type", "moreInfo"):
        if key in d:
            _iri(d[key], f"{path}.{key}")
    if "extensions" in d:
        _extensions(d["extensions"], f"{path}.extensions")
    kind = d.get("interactionType")
    if kind is not None and (not isinstance(kind, str) or kind not in INTERACTION_TYPES):
        _fail(f"{path}.interactionType", f"{kind!r} is not an xAPI interaction type")
    if kind is None and {"correctResponsesPattern", *COMPONENT_LISTS} & set(d):
        _fail(path, "correctResponsesPattern and interaction components need an interactionType")
    if "correctResponsesPattern" in d:
        crp = d["correctResponsesPattern"]
        if not isinstance(crp, list) or not all(isinstance(x, str) for x in crp):
            _fail(f"{path}.correctResponsesPattern", "must be an array of strings")
    for key in COMPONENT_LISTS:
        if key in d:
            if kind is None or key not in INTERACTION_TYPES[kind]:
                _fail(f"{path}.{key}", f"is not allowed for interactionType {kind!r}")
            _components(d[key], f"{path}.{key}")


def validate_activity(value: Any, path: str) -> None:
    act = _require_dict(value, path)
    _keys(act, _ACTIVITY_KEYS, path)
    if "objectType" in act and act["objectType"] != "Activity":
        _fail(f"{path}.objectType", 'must be "Activity"')
    if "id" not in act:
        _fail(path, "an Activity needs an id")
    _iri(act["id"], f"{path}.id")
    if "definition" in act:
        validate_definition(act["definition"], f"{path}.definition")


def _statement_ref(value: Any, path: str) -> None:
    ref = _require_dict(value, path)
    _keys(ref, ("objectType", "id"), path)
    if ref.get("objectType") != "StatementRef":
        _fail(f"{path}.objectType", 'must be "StatementRef"')
    if "id" not in ref:
        _fail(path, "a StatementRef needs an id")
    _uuid(ref["id"], f"{path}.id")


# --- statement parts ----------------------------------------------------------------------


def _verb(value: Any, path: str) -> None:
    verb = _require_dict(value, path)
    _keys(verb, _VERB_KEYS, path)
    if "id" not in verb:
        _fail(path, "a verb needs an id")
    _iri(verb["id"], f"{path}.id")
    if "display" in verb:
        _language_map(verb["display"], f"{path}.display")


def _object(value: Any, path: str, *, sub: bool) -> str:
    obj = _require_dict(value, path)
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        validate_activity(obj, path)
    elif kind == "Agent":
        validate_agent(obj, path)
    elif kind == "Group":
        validate_group(obj, path)
    elif kind == "StatementRef":
        _statement_ref(obj, path)
    elif kind == "SubStatement":
        if sub:
            _fail(path, "a SubStatement cannot contain another SubStatement")
        _keys(obj, SUBSTATEMENT_KEYS, path)
        _body(obj, path, sub=True)
    else:
        _fail(f"{path}.objectType", f"{kind!r} is not an xAPI object type")
    return str(kind)


def _result(value: Any, path: str) -> None:
    res = _require_dict(value, path)
    _keys(res, _RESULT_KEYS, path)
    if "score" in res:
        score = _require_dict(res["score"], f"{path}.score")
        _keys(score, _SCORE_KEYS, f"{path}.score")
        for k, v in score.items():
            if type(v) is not int and type(v) is not float:  # parsed JSON: exactly these
                _number(v, f"{path}.score.{k}")
        nums = score
        if "scaled" in nums and not -1 <= nums["scaled"] <= 1:
            _fail(f"{path}.score.scaled", "must be between -1 and 1")
        if "min" in nums and "max" in nums and nums["min"] >= nums["max"]:
            _fail(f"{path}.score", "min must be less than max")
        if "raw" in nums:
            if "min" in nums and nums["raw"] < nums["min"]:
                _fail(f"{path}.score.raw", "must not be less than min")
            if "max" in nums and nums["raw"] > nums["max"]:
                _fail(f"{path}.score.raw", "must not be more than max")
    for key in ("success", "completion"):
        if key in res and type(res[key]) is not bool:
            _bool(res[key], f"{path}.{key}")
    if "response" in res and type(res["response"]) is not str:
        _string(res["response"], f"{path}.response")
    if "duration" in res:
        duration = res["duration"]
        if type(duration) is not str or not _DURATION.match(duration):
            _duration(duration, f"{path}.duration")
    if "extensions" in res:
        _extensions(res["extensions"], f"{path}.extensions")


def _context(value: Any, path: str, object_kind: str) -> None:
    ctx = _require_dict(value, path)
    _keys(ctx, _CONTEXT_KEYS, path)
    if "registration" in ctx:
        _uuid(ctx["registration"], f"{path}.registration")
    if "instructor" in ctx:
        validate_actor(ctx["instructor"], f"{path}.instructor")
    if "team" in ctx:
        validate_group(ctx["team"], f"{path}.team")
    if "contextActivities" in ctx:
        _checked(ctx["contextActivities"], _context_activities, f"{path}.contextActivities", b"c")
    for key in ("revision", "platform"):
        if key in ctx:
            _string(ctx[key], f"{path}.{key}")
            if object_kind != "Activity":
                _fail(f"{path}.{key}", "is only allowed when the object is an Activity")
    if "language" in ctx and not is_language_tag(ctx["language"]):
        _fail(f"{path}.language", "must be an RFC 5646 language tag")
    if "statement" in ctx:
        _statement_ref(ctx["statement"], f"{path}.statement")
    if "extensions" in ctx:
        _extensions(ctx["extensions"], f"{path}.extensions")


def _context_activities(value: Any, path: str) -> None:
    ca = _require_dict(value, path)
    _keys(ca, _CONTEXT_ACTIVITY_KEYS, path)
    for key, acts in ca.items():
        items = acts if isinstance(acts, list) else [acts]
        for n, act in enumerate(items):
            validate_activity(act, f"{path}.{key}[{n}]")


def _attachments(value: Any, path: str) -> None:
    if not isinstance(value, list):
        _fail(path, "must be an array")
    for n, att in enumerate(value):
        here = f"{path}[{n}]"
        _require_dict(att, here)
        _keys(
            att,
            ("usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"),
            here,
        )
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in att:
                _fail(here, f"needs {key}")
        _iri(att["usageType"], f"{here}.usageType")
        _language_map(att["display"], f"{here}.display")
        if "description" in att:
            _language_map(att["description"], f"{here}.description")
        _string(att["contentType"], f"{here}.contentType")
        if isinstance(att["length"], bool) or not isinstance(att["length"], int):
            _fail(f"{here}.length", "must be an integer")
        _string(att["sha2"], f"{here}.sha2")
        if "fileUrl" in att:
            _iri(att["fileUrl"], f"{here}.fileUrl")


# --- parts already seen valid --------------------------------------------------------------
# The statements of one piece of content repeat the same actors, verbs, activities (with their
# definitions) and context activities. Validity depends only on a part's value, and its JSON
# text determines the value exactly (orjson keeps 1 and 1.0, true and 1 apart), so a part whose
# text passed once passes again: it is looked up instead of walked. Bounded per process.
_VALID_PARTS: set[bytes] = set()
_VALID_PARTS_MAX = 50_000


def _checked(value: Any, check: Callable[[Any, str], None], path: str, tag: bytes) -> None:
    """`check(value, path)`, skipped when this exact part (of this kind: `tag`) passed before."""
    try:
        text = tag + orjson.dumps(value)
    except TypeError:  # e.g. an integer beyond 64 bits: just check it
        check(value, path)
        return
    if text in _VALID_PARTS:
        return
    check(value, path)
    if len(_VALID_PARTS) >= _VALID_PARTS_MAX:
        _VALID_PARTS.clear()
    _VALID_PARTS.add(text)


def _plain_object(value: Any, path: str) -> None:
    _object(value, path, sub=False)


def _body(st: dict[str, Any], path: str, *, sub: bool) -> None:
    for key in ("actor", "verb", "object"):
        if key not in st:
            _fail(path, f"needs {key}")
    pre = f"{path}." if path else ""
    _checked(st["actor"], validate_actor, pre + "actor", b"a")
    _checked(st["verb"], _verb, pre + "verb", b"v")
    obj = st["object"]
    kind = obj.get("objectType", "Activity") if isinstance(obj, dict) else None
    if kind == "SubStatement" or not isinstance(kind, str):
        kind = _object(obj, pre + "object", sub=sub)
    else:  # not a SubStatement: valid or not whether inside one or not
        _checked(obj, _plain_object, pre + "object", b"o")
    if st["verb"]["id"] == VOIDED and not sub and kind != "StatementRef":
        _fail("object", "a voiding statement's object must be a StatementRef")
    if "result" in st:
        _result(st["result"], pre + "result")
    if "context" in st:
        _context(st["context"], pre + "context", kind)
    if "timestamp" in st:
        parse_timestamp(st["timestamp"], pre + "timestamp")
    if "attachments" in st:
        _attachments(st["attachments"], pre + "attachments")


def validate_statement(value: Any) -> dict[str, Any]:
    """Check one statement against xAPI 1.0.3; returns it (unchanged) or raises Invalid."""
    st = _require_dict(value, "statement")
    _keys(st, STATEMENT_KEYS, "statement")
    if "id" in st:
        _uuid(st["id"], "id")
    _body(st, "", sub=False)
    if "stored" in st:
        parse_timestamp(st["stored"], "stored")
    if "version" in st and (
        not isinstance(st["version"], str) or not _VERSION.match(st["version"])
    ):
        _fail("version", 'must be "1.0" or "1.0.x"')
    if "authority" in st:
        authority = _require_dict(st["authority"], "authority")
        validate_actor(authority, "authority")
        if authority.get("objectType") == "Group" and (
            any(i in authority for i in IFIS) or len(authority.get("member", [])) != 2
        ):
            _fail("authority", "a Group authority must be an anonymous OAuth consumer/user pair")
    return st


# --- identifier keys ----------------------------------------------------------------------


def ifi_text(agent: dict[str, Any]) -> str | None:
    """The inverse functional identifier of an Agent or identified Group, as one string."""
    if "mbox" in agent:
        return "mbox:" + str(agent["mbox"]).lower()
    if "mbox_sha1sum" in agent:
        return "sha1:" + str(agent["mbox_sha1sum"]).lower()
    if "openid" in agent:
        return "openid:" + str(agent["openid"])
    if "account" in agent and isinstance(agent["account"], dict):
        acc = agent["account"]
        return f"account:{acc.get('homePage')}|{acc.get('name')}"
    return None


@functools.lru_cache(maxsize=65536)
def hash_key(text: str) -> int:
    """A signed 64-bit key for an indexed column (collisions: 1 in 2**64 per pair). Cached:
    the same learners and activities come back in every batch."""
    return int.from_bytes(
        hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True
    )


def agent_key(agent: dict[str, Any]) -> int:
    """Key of an Agent or Group: its identifier; an anonymous Group by its sorted members."""
    text = ifi_text(agent)
    if text is None:
        members = sorted(ifi_text(m) or "" for m in agent.get("member", []) if isinstance(m, dict))
        text = "group:" + ",".join(members)
    return hash_key("agent:" + text)


def activity_key(activity_id: str) -> int:
    return hash_key("activity:" + activity_id)


def object_key(obj: dict[str, Any]) -> int:
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return activity_key(str(obj.get("id")))
    if kind in ("Agent", "Group"):
        return agent_key(obj)
    if kind == "StatementRef":
        return hash_key("ref:" + str(obj.get("id")).lower())
    return hash_key("sub:" + json.dumps(obj, sort_keys=True))


def related_agent_keys(st: dict[str, Any], *, include_authority: bool = True) -> set[int]:
    """Keys of every agent or group in a statement: actor, object, authority, instructor, team,
    and the same in a SubStatement (the `related_agents=true` filter)."""
    keys: set[int] = set()

    def add(agent: Any) -> None:
        if isinstance(agent, dict):
            keys.add(agent_key(agent))
            for member in agent.get("member", []) or []:
                if isinstance(member, dict):
                    keys.add(agent_key(member))

    def walk(s: dict[str, Any]) -> None:
        add(s.get("actor"))
        obj = s.get("object") or {}
        if obj.get("objectType") in ("Agent", "Group"):
            add(obj)
        elif obj.get("objectType") == "SubStatement":
            walk(obj)
        ctx = s.get("context") or {}
        add(ctx.get("instructor"))
        add(ctx.get("team"))

    walk(st)
    if include_authority:
        add(st.get("authority"))
    return keys


def related_activity_ids(st: dict[str, Any]) -> set[str]:
    """Every activity id of a statement: object, context activities, and in a SubStatement."""
    ids: set[str] = set()

    def walk(s: dict[str, Any]) -> None:
        obj = s.get("object") or {}
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            ids.add(str(obj.get("id")))
        elif kind == "SubStatement":
            walk(obj)
        ca = (s.get("context") or {}).get("contextActivities") or {}
        for acts in ca.values():
            for act in acts if isinstance(acts, list) else [acts]:
                if isinstance(act, dict):
                    ids.add(str(act.get("id")))

    walk(st)
    return ids


def normalise(st: dict[str, Any]) -> dict[str, Any]:
    """Context activities always as arrays (the spec's canonical storage form)."""
    ctx = st.get("context")
    if isinstance(ctx, dict) and isinstance(ctx.get("contextActivities"), dict):
        ca = ctx["contextActivities"]
        for key, acts in list(ca.items()):
            if isinstance(acts, dict):
                ca[key] = [acts]
    obj = st.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        normalise(obj)
    return st


# --- equality for id conflicts ------------------------------------------------------------

_IGNORED_FOR_EQUALITY = ("id", "stored", "authority", "version")


def same_statement(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two statements with the same id say the same thing (stored, authority and
    version are the LRS's, so they do not count)."""

    def core(s: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if k not in _IGNORED_FOR_EQUALITY}

    return _canon(core(a)) == _canon(core(b))


def _canon(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _canon(v) for k, v in value.items()}
        if "mbox" in out and isinstance(out["mbox"], str):
            out["mbox"] = out["mbox"].lower()
        return out
    if isinstance(value, list):
        return [_canon(v) for v in value]
    if isinstance(value, str) and _TIMESTAMP.match(value):
        try:
            return parse_timestamp(value).isoformat()
        except Invalid:
            return value
    return value


# --- output formats -----------------------------------------------------------------------


def _ids_agent(agent: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "objectType" in agent:
        out["objectType"] = agent["objectType"]
    for ifi in IFIS:
        if ifi in agent:
            out[ifi] = agent[ifi]
            break
    if agent.get("objectType") == "Group" and not any(i in agent for i in IFIS):
        out["member"] = [_ids_agent(m) for m in agent.get("member", [])]
    return out


def _ids_object(obj: dict[str, Any]) -> dict[str, Any]:
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return {"id": obj["id"]}
    if kind in ("Agent", "Group"):
        return _ids_agent(obj)
    if kind == "SubStatement":
        return _ids_statement(obj)
    return obj


def _ids_statement(st: dict[str, Any]) -> dict[str, Any]:
    out = dict(st)
    out["actor"] = _ids_agent(st["actor"])
    out["verb"] = {"id": st["verb"]["id"]}
    out["object"] = _ids_object(st["object"])
    if "authority" in st:
        out["authority"] = _ids_agent(st["authority"])
    ctx = st.get("context")
    if isinstance(ctx, dict):
        ctx = dict(ctx)
        for key in ("instructor", "team"):
            if key in ctx:
                ctx[key] = _ids_agent(ctx[key])
        if "contextActivities" in ctx:
            ctx["contextActivities"] = {
                k: [_ids_object(a) for a in v] for k, v in ctx["contextActivities"].items()
            }
        out["context"] = ctx
    return out


def format_ids(st: dict[str, Any]) -> dict[str, Any]:
    """`format=ids`: agents, activities and verbs by their identifiers only."""
    return _ids_statement(st)


def pick_language(langmap: dict[str, str], accepted: list[str]) -> dict[str, str]:
    """One entry of a language map: the first accepted language present, else the first."""
    if not langmap:
        return langmap
    lowered = {k.lower(): k for k in langmap}
    for lang in accepted:
        lang = lang.lower()
        if lang == "*":
            break
        if lang in lowered:
            key = lowered[lang]
            return {key: langmap[key]}
        for k_low, key in lowered.items():
            if k_low.split("-")[0] == lang.split("-")[0]:
                return {key: langmap[key]}
    key = next(iter(langmap))
    return {key: langmap[key]}


def format_canonical(value: Any, accepted: list[str], *, _key: str = "") -> Any:
    """`format=canonical`: every language map reduced to the best accepted language."""
    if isinstance(value, dict):
        if _key in ("display", "name", "description") and all(
            isinstance(v, str) for v in value.values()
        ):
            return pick_language(value, accepted)
        return {
            k: (v if k == "extensions" else format_canonical(v, accepted, _key=k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [format_canonical(v, accepted, _key="") for v in value]
    return value


def accepted_languages(header: str) -> list[str]:
    """Languages of an Accept-Language header, best first."""
    items = []
    for n, part in enumerate(header.split(",")):
        part = part.strip()
        if not part:
            continue
        lang, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        items.append((-q, n, lang.strip()))
    return [lang for _q, _n, lang in sorted(items)]


def merge_definition(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The canonical definition after a statement: new values win; language maps merge."""
    out = dict(old)
    for key, value in new.items():
        if (key in ("name", "description") and isinstance(out.get(key), dict)) or (
            key == "extensions" and isinstance(out.get(key), dict)
        ):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


# --- signed statements ----------------------------------------------------------------------

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
_SIGNING_ALGORITHMS = {"RS256", "RS384", "RS512"}


def _b64url(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_signature(st: dict[str, Any], jws: bytes) -> None:
    """A signature attachment must be a JWS (compact form) with an RS256/384/512 header whose
    payload is this statement (without its attachments, and the properties the LRS sets)."""
    try:
        header_b64, payload_b64, _signature = jws.decode("ascii").strip().split(".")
        header = json.loads(_b64url(header_b64))
        payload = json.loads(_b64url(payload_b64))
    except (ValueError, UnicodeDecodeError):
        _fail("signature", "is not a JWS in compact serialisation")
        raise AssertionError from None
    if not isinstance(header, dict) or header.get("alg") not in _SIGNING_ALGORITHMS:
        _fail("signature", "must be signed with RS256, RS384 or RS512")
    if not isinstance(payload, dict):
        _fail("signature", "the signed payload is not a statement")

    def core(s: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items() if k != "attachments"}

    if "id" in payload and str(payload["id"]).lower() != str(st.get("id", "")).lower():
        _fail("signature", "the signed statement has another id")
    if not same_statement(core(normalise(dict(payload))), core(st)):
        _fail("signature", "the signed payload does not match the statement")


# --- JSON -----------------------------------------------------------------------------------


def loads(data: bytes | str) -> Any:
    """Parse JSON fast (orjson); numbers beyond 64 bits fall back to the standard library."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> str:
    """Compact JSON text (UTF-8, no spaces)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
