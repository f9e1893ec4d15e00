"""The SCORM run-time data model (no ORM, no I/O): which `cmi.*` elements exist in SCORM 1.2
and SCORM 2004, who may read or write each, what values they take, and the standard error codes.

The browser's API (static/scorm/scorm-api.js) answers the content at once from a copy of the
values; the server replays every value the content set through `set_value` before storing it, so
a value the rules refuse is never stored. Both sides share the element table (`element_table`,
sent to the browser as JSON); the value checks are written twice (here and in the script).

State is a flat dict {element: value}, e.g. {"cmi.interactions.0.id": "q1"}; collections
(objectives, interactions, comments) have as many members as their highest index + 1.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

V12 = "1.2"
V2004 = "2004"
VERSIONS = (V12, V2004)

RO, RW, WO = "ro", "rw", "wo"

# --- Error codes ---------------------------------------------------------------------------------

NO_ERROR = 0
ERRORS_12: dict[int, str] = {
    0: "No error",
    101: "General exception",
    201: "Invalid argument error",
    202: "Element cannot have children",
    203: "Element not an array - cannot have count",
    301: "Not initialized",
    401: "Not implemented error",
    402: "Invalid set value, element is a keyword",
    403: "Element is read only",
    404: "Element is write only",
    405: "Incorrect data type",
}
ERRORS_2004: dict[int, str] = {
    0: "No Error",
    101: "General Exception",
    102: "General Initialization Failure",
    103: "Already Initialized",
    104: "Content Instance Terminated",
    111: "General Termination Failure",
    112: "Termination Before Initialization",
    113: "Termination After Termination",
    122: "Retrieve Data Before Initialization",
    123: "Retrieve Data After Termination",
    132: "Store Data Before Initialization",
    133: "Store Data After Termination",
    142: "Commit Before Initialization",
    143: "Commit After Termination",
    201: "General Argument Error",
    301: "General Get Failure",
    351: "General Set Failure",
    391: "General Commit Failure",
    401: "Undefined Data Model Element",
    402: "Unimplemented Data Model Element",
    403: "Data Model Element Value Not Initialized",
    404: "Data Model Element Is Read Only",
    405: "Data Model Element Is Write Only",
    406: "Data Model Element Type Mismatch",
    407: "Data Model Element Value Out Of Range",
    408: "Data Model Dependency Not Established",
}


def error_strings(version: str) -> dict[int, str]:
    return ERRORS_12 if version == V12 else ERRORS_2004


# --- The element tables --------------------------------------------------------------------------
# pattern (numeric indexes written "n") -> (access, type). Types are checked by `type_error`.

STATUS_12 = ("passed", "completed", "failed", "incomplete", "browsed", "not attempted")
INTERACTION_TYPES_12 = (
    "true-false", "choice", "fill-in", "matching", "performance", "sequencing", "likert", "numeric",
)  # fmt: skip
INTERACTION_TYPES_2004 = (*INTERACTION_TYPES_12, "long-fill-in", "other")
COMPLETION_2004 = ("completed", "incomplete", "not attempted", "unknown")
SUCCESS_2004 = ("passed", "failed", "unknown")

ELEMENTS_12: dict[str, tuple[str, str]] = {
    "cmi.core.student_id": (RO, "string:255"),
    "cmi.core.student_name": (RO, "string:255"),
    "cmi.core.lesson_location": (RW, "string:255"),
    "cmi.core.credit": (RO, "string:255"),
    "cmi.core.lesson_status": (RW, "status12"),
    "cmi.core.entry": (RO, "string:255"),
    "cmi.core.score.raw": (RW, "score12"),
    "cmi.core.score.max": (RW, "score12"),
    "cmi.core.score.min": (RW, "score12"),
    "cmi.core.total_time": (RO, "timespan12"),
    "cmi.core.lesson_mode": (RO, "string:255"),
    "cmi.core.exit": (WO, "exit12"),
    "cmi.core.session_time": (WO, "timespan12"),
    # CMIString4096 in the standard; authoring tools routinely write more, and LMSs accept it.
    "cmi.suspend_data": (RW, "string:64000"),
    "cmi.launch_data": (RO, "string:4096"),
    "cmi.comments": (RW, "string:4096"),
    "cmi.comments_from_lms": (RO, "string:4096"),
    "cmi.objectives.n.id": (RW, "identifier12"),
    "cmi.objectives.n.score.raw": (RW, "score12"),
    "cmi.objectives.n.score.max": (RW, "score12"),
    "cmi.objectives.n.score.min": (RW, "score12"),
    "cmi.objectives.n.status": (RW, "objstatus12"),
    "cmi.student_data.mastery_score": (RO, "string:255"),
    "cmi.student_data.max_time_allowed": (RO, "string:255"),
    "cmi.student_data.time_limit_action": (RO, "string:255"),
    "cmi.student_preference.audio": (RW, "int:-1:100"),
    "cmi.student_preference.language": (RW, "string:255"),
    "cmi.student_preference.speed": (RW, "int:-100:100"),
    "cmi.student_preference.text": (RW, "int:-1:1"),
    "cmi.interactions.n.id": (WO, "identifier12"),
    "cmi.interactions.n.objectives.n.id": (WO, "identifier12"),
    "cmi.interactions.n.time": (WO, "time12"),
    "cmi.interactions.n.type": (WO, "itype12"),
    "cmi.interactions.n.correct_responses.n.pattern": (WO, "string:255"),
    "cmi.interactions.n.weighting": (WO, "decimal"),
    "cmi.interactions.n.student_response": (WO, "string:255"),
    "cmi.interactions.n.result": (WO, "result12"),
    "cmi.interactions.n.latency": (WO, "timespan12"),
}
CHILDREN_12: dict[str, str] = {
    "cmi.core": "student_id,student_name,lesson_location,credit,lesson_status,entry,score,"
    "total_time,lesson_mode,exit,session_time",
    "cmi.core.score": "raw,min,max",
    "cmi.objectives": "id,score,status",
    "cmi.objectives.n.score": "raw,min,max",
    "cmi.student_data": "mastery_score,max_time_allowed,time_limit_action",
    "cmi.student_preference": "audio,language,speed,text",
    "cmi.interactions": "id,objectives,time,type,correct_responses,weighting,student_response,"
    "result,latency",
}
COLLECTIONS_12 = (
    "cmi.objectives",
    "cmi.interactions",
    "cmi.interactions.n.objectives",
    "cmi.interactions.n.correct_responses",
)

ELEMENTS_2004: dict[str, tuple[str, str]] = {
    "cmi._version": (RO, "any"),
    "cmi.comments_from_learner.n.comment": (RW, "localized:4000"),
    "cmi.comments_from_learner.n.location": (RW, "string:250"),
    "cmi.comments_from_learner.n.timestamp": (RW, "timestamp"),
    "cmi.comments_from_lms.n.comment": (RO, "any"),
    "cmi.comments_from_lms.n.location": (RO, "any"),
    "cmi.comments_from_lms.n.timestamp": (RO, "any"),
    "cmi.completion_status": (RW, "completion2004"),
    "cmi.completion_threshold": (RO, "any"),
    "cmi.credit": (RO, "any"),
    "cmi.entry": (RO, "any"),
    "cmi.exit": (WO, "exit2004"),
    "cmi.interactions.n.id": (RW, "uri"),
    "cmi.interactions.n.type": (RW, "itype2004"),
    "cmi.interactions.n.objectives.n.id": (RW, "uri"),
    "cmi.interactions.n.timestamp": (RW, "timestamp"),
    "cmi.interactions.n.correct_responses.n.pattern": (RW, "string:7800"),
    "cmi.interactions.n.weighting": (RW, "real"),
    "cmi.interactions.n.learner_response": (RW, "string:7800"),
    "cmi.interactions.n.result": (RW, "result2004"),
    "cmi.interactions.n.latency": (RW, "duration"),
    "cmi.interactions.n.description": (RW, "localized:250"),
    "cmi.launch_data": (RO, "any"),
    "cmi.learner_id": (RO, "any"),
    "cmi.learner_name": (RO, "any"),
    "cmi.learner_preference.audio_level": (RW, "real:0:"),
    "cmi.learner_preference.language": (RW, "language"),
    "cmi.learner_preference.delivery_speed": (RW, "real:0:"),
    "cmi.learner_preference.audio_captioning": (RW, "captioning"),
    "cmi.location": (RW, "string:1000"),
    "cmi.max_time_allowed": (RO, "any"),
    "cmi.mode": (RO, "any"),
    "cmi.objectives.n.id": (RW, "uri"),
    "cmi.objectives.n.score.scaled": (RW, "real:-1:1"),
    "cmi.objectives.n.score.raw": (RW, "real"),
    "cmi.objectives.n.score.min": (RW, "real"),
    "cmi.objectives.n.score.max": (RW, "real"),
    "cmi.objectives.n.success_status": (RW, "success2004"),
    "cmi.objectives.n.completion_status": (RW, "completion2004"),
    "cmi.objectives.n.progress_measure": (RW, "real:0:1"),
    "cmi.objectives.n.description": (RW, "localized:250"),
    "cmi.progress_measure": (RW, "real:0:1"),
    "cmi.scaled_passing_score": (RO, "any"),
    "cmi.score.scaled": (RW, "real:-1:1"),
    "cmi.score.raw": (RW, "real"),
    "cmi.score.min": (RW, "real"),
    "cmi.score.max": (RW, "real"),
    "cmi.session_time": (WO, "duration"),
    "cmi.success_status": (RW, "success2004"),
    "cmi.suspend_data": (RW, "string:64000"),
    "cmi.time_limit_action": (RO, "any"),
    "cmi.total_time": (RO, "any"),
    "adl.nav.request": (RW, "navrequest"),
    "adl.nav.request_valid.continue": (RO, "any"),
    "adl.nav.request_valid.previous": (RO, "any"),
}
CHILDREN_2004: dict[str, str] = {
    "cmi.comments_from_learner": "comment,location,timestamp",
    "cmi.comments_from_lms": "comment,location,timestamp",
    "cmi.interactions": "id,type,objectives,timestamp,correct_responses,weighting,"
    "learner_response,result,latency,description",
    "cmi.learner_preference": "audio_level,language,delivery_speed,audio_captioning",
    "cmi.objectives": "id,score,success_status,completion_status,progress_measure,description",
    "cmi.objectives.n.score": "scaled,raw,min,max",
    "cmi.score": "scaled,raw,min,max",
}
COLLECTIONS_2004 = (
    "cmi.comments_from_learner",
    "cmi.comments_from_lms",
    "cmi.interactions",
    "cmi.interactions.n.objectives",
    "cmi.interactions.n.correct_responses",
    "cmi.objectives",
)
# What GetValue answers (without error) for a read-write element the content never set.
DEFAULTS_2004 = {
    "cmi.completion_status": "unknown",
    "cmi.success_status": "unknown",
    "cmi.learner_preference.audio_level": "1",
    "cmi.learner_preference.language": "",
    "cmi.learner_preference.delivery_speed": "1",
    "cmi.learner_preference.audio_captioning": "0",
    "adl.nav.request": "_none_",
}
DEFAULTS_12 = {"cmi.core.lesson_status": "not attempted"}


def elements(version: str) -> dict[str, tuple[str, str]]:
    return ELEMENTS_12 if version == V12 else ELEMENTS_2004


def element_table(version: str) -> dict[str, Any]:
    """The tables as JSON for the browser's API."""
    return {
        "version": version,
        "elements": {k: list(v) for k, v in elements(version).items()},
        "children": CHILDREN_12 if version == V12 else CHILDREN_2004,
        "collections": list(COLLECTIONS_12 if version == V12 else COLLECTIONS_2004),
        "defaults": DEFAULTS_12 if version == V12 else DEFAULTS_2004,
        "errors": {str(k): v for k, v in error_strings(version).items()},
    }


# --- Value types ---------------------------------------------------------------------------------

_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_REAL = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_TIMESPAN_12 = re.compile(r"^\d{2,4}:\d{2}:\d{2}(\.\d{1,2})?$")
_TIME_12 = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,2})?$")
_IDENTIFIER_12 = re.compile(r"^[\x21-\x7e]{1,255}$")
_DURATION = re.compile(
    r"^P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,2})?)S)?)?$"
)
_TIMESTAMP = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3])(:[0-5]\d(:[0-5]\d(\.\d{1,2})?)?)?"
    r"(Z|[+-]([01]\d|2[0-3])(:[0-5]\d)?)?)?)?)?$"
)
_LANG = re.compile(r"^([A-Za-z]{1,3}|[ixIX])(-[A-Za-z0-9]{1,8})*$")
_LOCALIZED = re.compile(r"^\{lang=([^}]*)\}")
_NAV_TARGET = re.compile(r"^\{target=([^}\s]+)\}(choice|jump)$")
NAV_REQUESTS = (
    "continue", "previous", "exit", "exitAll", "abandon", "abandonAll", "suspendAll", "_none_",
)  # fmt: skip


def type_error(version: str, kind: str, value: str) -> int:
    """0 if `value` fits the element type `kind`, else the version's error code (1.2: 405;
    2004: 406 type mismatch or 407 out of range)."""
    mismatch = 405 if version == V12 else 406
    out_of_range = 405 if version == V12 else 407
    name, _sep, params = kind.partition(":")
    if name == "any":
        return NO_ERROR
    if name == "string":
        return NO_ERROR if len(value) <= int(params) else mismatch
    if name == "localized":
        match = _LOCALIZED.match(value)
        if match and match.group(1) and not _LANG.match(match.group(1)):
            return mismatch
        text = value[match.end() :] if match else value
        return NO_ERROR if len(text) <= int(params) else mismatch
    if name in ("status12", "objstatus12"):
        allowed = STATUS_12 if name == "objstatus12" else STATUS_12[:-1]
        return NO_ERROR if value in allowed else mismatch
    if name == "exit12":
        return NO_ERROR if value in ("time-out", "suspend", "logout", "") else mismatch
    if name == "exit2004":
        return NO_ERROR if value in ("time-out", "suspend", "logout", "normal", "") else mismatch
    if name == "score12":
        if value == "":
            return NO_ERROR
        if not _DECIMAL.match(value):
            return mismatch
        return NO_ERROR if 0 <= float(value) <= 100 else out_of_range
    if name == "decimal":
        return NO_ERROR if _DECIMAL.match(value) else mismatch
    if name == "int":
        lo, hi = (int(p) for p in params.split(":"))
        if not re.match(r"^-?\d+$", value):
            return mismatch
        return NO_ERROR if lo <= int(value) <= hi else out_of_range
    if name == "timespan12":
        return NO_ERROR if _TIMESPAN_12.match(value) else mismatch
    if name == "time12":
        return NO_ERROR if _TIME_12.match(value) else mismatch
    if name == "identifier12":
        return NO_ERROR if _IDENTIFIER_12.match(value) else mismatch
    if name == "itype12":
        return NO_ERROR if value in INTERACTION_TYPES_12 else mismatch
    if name == "itype2004":
        return NO_ERROR if value in INTERACTION_TYPES_2004 else mismatch
    if name == "result12":
        ok = value in ("correct", "wrong", "unanticipated", "neutral") or _DECIMAL.match(value)
        return NO_ERROR if ok else mismatch
    if name == "result2004":
        ok = value in ("correct", "incorrect", "unanticipated", "neutral") or _REAL.match(value)
        return NO_ERROR if ok else mismatch
    if name == "completion2004":
        return NO_ERROR if value in COMPLETION_2004 else mismatch
    if name == "success2004":
        return NO_ERROR if value in SUCCESS_2004 else mismatch
    if name == "captioning":
        return NO_ERROR if value in ("-1", "0", "1") else mismatch
    if name == "language":
        return NO_ERROR if value == "" or _LANG.match(value) else mismatch
    if name == "uri":
        fits = 0 < len(value) <= 4000 and not any(c.isspace() for c in value)
        return NO_ERROR if fits else mismatch
    if name == "timestamp":
        return NO_ERROR if _TIMESTAMP.match(value) else mismatch
    if name == "duration":
        return NO_ERROR if _DURATION.match(value) else mismatch
    if name == "navrequest":
        return NO_ERROR if value in NAV_REQUESTS or _NAV_TARGET.match(value) else mismatch
    if name == "real":
        if not _REAL.match(value) or not math.isfinite(float(value)):
            return mismatch
        lo_s, _sep, hi_s = params.partition(":")
        number = float(value)
        if (lo_s and number < float(lo_s)) or (hi_s and number > float(hi_s)):
            return out_of_range
        return NO_ERROR
    raise ValueError(f"unknown element type {kind!r}")  # pragma: no cover


# --- Paths ---------------------------------------------------------------------------------------


def _pattern(element: str) -> str:
    return ".".join("n" if part.isdigit() else part for part in element.split("."))


def _indexes(element: str) -> list[tuple[str, int]]:
    """(collection path as written, index) for each numeric part, outermost first."""
    parts = element.split(".")
    return [(".".join(parts[:i]), int(p)) for i, p in enumerate(parts) if p.isdigit()]


def count(values: dict[str, str], collection: str) -> int:
    """How many members a collection (e.g. "cmi.interactions.0.objectives") has."""
    prefix = collection + "."
    highest = -1
    for key in values:
        if key.startswith(prefix):
            head = key[len(prefix) :].split(".", 1)[0]
            if head.isdigit():
                highest = max(highest, int(head))
    return highest + 1


@dataclass(frozen=True)
class Result:
    value: str
    error: int


def get_value(version: str, values: dict[str, str], element: str) -> Result:
    """What GetValue / LMSGetValue answers for `element`, with the error code."""
    table = elements(version)
    children = CHILDREN_12 if version == V12 else CHILDREN_2004
    collections = COLLECTIONS_12 if version == V12 else COLLECTIONS_2004
    v12 = version == V12
    if not element:
        return Result("", 201 if v12 else 301)
    parent, _dot, last = element.rpartition(".")
    if last == "_children":
        pattern = _pattern(parent)
        if pattern in children:
            return Result(children[pattern], NO_ERROR)
        known = pattern in table or any(k.startswith(pattern + ".") for k in table)
        return Result("", 202 if v12 else (301 if known else 401))
    if last == "_count":
        pattern = _pattern(parent)
        if pattern in collections:
            return Result(str(count(values, parent)), NO_ERROR)
        known = pattern in table or any(k.startswith(pattern + ".") for k in table)
        return Result("", 203 if v12 else (301 if known else 401))
    if element == "cmi._version" and not v12:
        return Result("1.0", NO_ERROR)
    if not v12 and element.startswith("adl.nav.request_valid.choice."):
        return Result(values.get(element, "false"), NO_ERROR)
    pattern = _pattern(element)
    spec = table.get(pattern)
    if spec is None:
        return Result("", 201 if v12 else 401)
    access, _kind = spec
    for collection, index in _indexes(element):
        if index >= count(values, collection):
            return Result("", 201 if v12 else 301)
    if access == WO:
        return Result("", 404 if v12 else 405)
    if element in values:
        return Result(values[element], NO_ERROR)
    defaults = DEFAULTS_12 if v12 else DEFAULTS_2004
    if element in defaults:
        return Result(defaults[element], NO_ERROR)
    if v12 or access == RO:
        return Result("", NO_ERROR)
    return Result("", 403)


def set_value(version: str, values: dict[str, str], element: str, value: Any) -> int:
    """Apply SetValue / LMSSetValue to `values` (in place); the error code (0: stored)."""
    table = elements(version)
    v12 = version == V12
    if not isinstance(value, str):
        # The APIs take strings; numbers from careless content are accepted as their text.
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 405 if v12 else 406
        value = repr(value) if isinstance(value, float) else str(value)
    if not element:
        return 201 if v12 else 351
    last = element.rpartition(".")[2]
    if last in ("_children", "_count", "_version"):
        return 402 if v12 else 404
    pattern = _pattern(element)
    spec = table.get(pattern)
    if spec is None:
        if not v12 and element.startswith("adl.nav.request_valid."):
            return 404
        return 201 if v12 else 401
    access, kind = spec
    if access == RO:
        return 403 if v12 else 404
    for collection, index in _indexes(element):
        if index > count(values, collection):
            return 201 if v12 else 351
    error = type_error(version, kind, value)
    if error:
        return error
    if not v12:
        dependency = _dependency_error(values, element, pattern, value)
        if dependency:
            return dependency
    if pattern == "cmi.comments" and v12:
        values[element] = (values.get(element, "") + value)[-4096:]
        return NO_ERROR
    values[element] = value
    return NO_ERROR


def _dependency_error(values: dict[str, str], element: str, pattern: str, value: str) -> int:
    """SCORM 2004: a member's id is set first (408); objective ids are unique and, once set,
    fixed (351); a correct response needs the interaction's type (408)."""
    parts = element.split(".")
    if pattern == "cmi.objectives.n.id":
        if element in values and values[element] != value:
            return 351
        for key, existing in values.items():
            if (
                key != element
                and existing == value
                and key.startswith("cmi.objectives.")
                and key.endswith(".id")
                and key.count(".") == 3
            ):
                return 351
        return NO_ERROR
    if pattern == "cmi.interactions.n.id":
        return NO_ERROR
    if pattern.startswith(("cmi.objectives.n.", "cmi.interactions.n.")):
        member = ".".join(parts[:3])
        if member + ".id" not in values:
            return 408
    if pattern == "cmi.interactions.n.objectives.n.id" and value in {
        v for k, v in values.items() if k.startswith(".".join(parts[:4]) + ".") and k != element
    }:
        return 351
    if (
        pattern == "cmi.interactions.n.correct_responses.n.pattern"
        and ".".join(parts[:3]) + ".type" not in values
    ):
        return 408
    return NO_ERROR


# --- Time ----------------------------------------------------------------------------------------


def parse_timespan12(value: str) -> float:
    """Seconds in a SCORM 1.2 CMITimespan "HHHH:MM:SS.SS"; 0 for anything else."""
    if not _TIMESPAN_12.match(value or ""):
        return 0.0
    hours, minutes, seconds = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_duration(value: str) -> float:
    """Seconds in a SCORM 2004 timeinterval (ISO 8601 duration); years as 365 days, months as
    30 days. 0 for anything else."""
    match = _DURATION.match(value or "")
    if not match:
        return 0.0
    y, mo, d, h, mi, s = (float(g) if g else 0.0 for g in match.groups())
    return ((y * 365 + mo * 30 + d) * 24 + h) * 3600 + mi * 60 + s


def format_timespan12(seconds: float) -> str:
    centis = round(max(seconds, 0.0) * 100)
    hours, rest = divmod(centis, 360000)
    minutes, rest = divmod(rest, 6000)
    return f"{min(hours, 9999):04d}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def format_duration(seconds: float) -> str:
    centis = round(max(seconds, 0.0) * 100)
    hours, rest = divmod(centis, 360000)
    minutes, rest = divmod(rest, 6000)
    secs = f"{rest // 100}" if rest % 100 == 0 else f"{rest // 100}.{rest % 100:02d}"
    return f"PT{hours}H{minutes}M{secs}S"


def session_seconds(version: str, values: dict[str, str]) -> float:
    if version == V12:
        return parse_timespan12(values.get("cmi.core.session_time", ""))
    return parse_duration(values.get("cmi.session_time", ""))
