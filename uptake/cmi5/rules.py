"""Pure cmi5 rules (no ORM, no I/O): the LMS.LaunchData document, the statements the LMS
writes (launched, abandoned, satisfied), the checks on statements an AU sends during its
session (section 9 of the specification), and moveOn.

The checks work on a `SessionView` (what the session and the registration have seen so far)
and return the reason a statement is refused, or None; `apply` returns the new view after an
accepted statement. Statements are checked in the order they arrive.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

LAUNCHED = "http://adlnet.gov/expapi/verbs/launched"
INITIALIZED = "http://adlnet.gov/expapi/verbs/initialized"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
PASSED = "http://adlnet.gov/expapi/verbs/passed"
FAILED = "http://adlnet.gov/expapi/verbs/failed"
ABANDONED = "https://w3id.org/xapi/adl/verbs/abandoned"
WAIVED = "https://w3id.org/xapi/adl/verbs/waived"
TERMINATED = "http://adlnet.gov/expapi/verbs/terminated"
SATISFIED = "https://w3id.org/xapi/adl/verbs/satisfied"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
AU_VERBS = {INITIALIZED, COMPLETED, PASSED, FAILED, TERMINATED}
LMS_VERBS = {LAUNCHED, ABANDONED, WAIVED, SATISFIED}
VERB_NAMES = {
    LAUNCHED: "launched",
    INITIALIZED: "initialized",
    COMPLETED: "completed",
    PASSED: "passed",
    FAILED: "failed",
    ABANDONED: "abandoned",
    WAIVED: "waived",
    TERMINATED: "terminated",
    SATISFIED: "satisfied",
}

CATEGORY_CMI5 = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
CATEGORY_MOVEON = "https://w3id.org/xapi/cmi5/context/categories/moveon"
EXT_SESSION = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
EXT_MASTERY = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
EXT_LAUNCH_MODE = "https://w3id.org/xapi/cmi5/context/extensions/launchmode"
EXT_LAUNCH_URL = "https://w3id.org/xapi/cmi5/context/extensions/launchurl"
EXT_MOVE_ON = "https://w3id.org/xapi/cmi5/context/extensions/moveon"
EXT_LAUNCH_PARAMETERS = "https://w3id.org/xapi/cmi5/context/extensions/launchparameters"
TYPE_COURSE = "https://w3id.org/xapi/cmi5/activitytype/course"
TYPE_BLOCK = "https://w3id.org/xapi/cmi5/activitytype/block"
LAUNCH_DATA = "LMS.LaunchData"
LEARNER_PREFERENCES = "cmi5LearnerPreferences"
NORMAL, BROWSE, REVIEW = "Normal", "Browse", "Review"


# --- what the LMS writes -------------------------------------------------------------------------


def context_template(*, publisher_id: str, session_id: str) -> dict[str, Any]:
    return {
        "contextActivities": {"grouping": [{"objectType": "Activity", "id": publisher_id}]},
        "extensions": {EXT_SESSION: session_id},
    }


def launch_data(
    *,
    publisher_id: str,
    session_id: str,
    launch_mode: str,
    move_on: str,
    return_url: str,
    mastery_score: float | None = None,
    launch_parameters: str = "",
    entitlement_key: str = "",
) -> dict[str, Any]:
    """The LMS.LaunchData state document (section 10)."""
    doc: dict[str, Any] = {
        "contextTemplate": context_template(publisher_id=publisher_id, session_id=session_id),
        "launchMode": launch_mode,
        "moveOn": move_on,
        "returnURL": return_url,
    }
    if launch_parameters:
        doc["launchParameters"] = launch_parameters
    if mastery_score is not None:
        doc["masteryScore"] = mastery_score
    if entitlement_key:
        doc["entitlementKey"] = {"courseStructure": entitlement_key}
    return doc


def _timestamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _verb(iri: str) -> dict[str, Any]:
    return {"id": iri, "display": {"en-US": VERB_NAMES[iri]}}


def _context(
    *, registration: str, session_id: str, publisher_id: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    activities: dict[str, Any] = {"category": [{"objectType": "Activity", "id": CATEGORY_CMI5}]}
    if publisher_id:
        activities["grouping"] = [{"objectType": "Activity", "id": publisher_id}]
    return {
        "registration": registration,
        "contextActivities": activities,
        "extensions": {EXT_SESSION: session_id, **extra},
    }


def launched_statement(
    *,
    actor: dict[str, Any],
    activity_id: str,
    publisher_id: str,
    registration: str,
    session_id: str,
    launch_mode: str,
    launch_url: str,
    move_on: str,
    mastery_score: float | None,
    launch_parameters: str,
    when: dt.datetime,
) -> dict[str, Any]:
    extra: dict[str, Any] = {
        EXT_LAUNCH_MODE: launch_mode,
        EXT_LAUNCH_URL: launch_url,
        EXT_MOVE_ON: move_on,
    }
    if mastery_score is not None:
        extra[EXT_MASTERY] = mastery_score
    if launch_parameters:
        extra[EXT_LAUNCH_PARAMETERS] = launch_parameters
    return {
        "actor": actor,
        "verb": _verb(LAUNCHED),
        "object": {"objectType": "Activity", "id": activity_id},
        "context": _context(
            registration=registration,
            session_id=session_id,
            publisher_id=publisher_id,
            extra=extra,
        ),
        "timestamp": _timestamp(when),
    }


def iso_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"PT{int(hours)}H{int(minutes)}M{secs:.2f}S"


def abandoned_statement(
    *,
    actor: dict[str, Any],
    activity_id: str,
    publisher_id: str,
    registration: str,
    session_id: str,
    seconds: float,
    when: dt.datetime,
) -> dict[str, Any]:
    return {
        "actor": actor,
        "verb": _verb(ABANDONED),
        "object": {"objectType": "Activity", "id": activity_id},
        "result": {"duration": iso_duration(seconds)},
        "context": _context(
            registration=registration,
            session_id=session_id,
            publisher_id=publisher_id,
            extra={},
        ),
        "timestamp": _timestamp(when),
    }


def satisfied_statement(
    *,
    actor: dict[str, Any],
    object_id: str,
    object_type: str,
    name: Mapping[str, str],
    publisher_id: str,
    registration: str,
    session_id: str,
    when: dt.datetime,
) -> dict[str, Any]:
    """For a block or the course (9.3.9); the object is the LMS's id of the block/course, the
    publisher's id is in the grouping."""
    return {
        "actor": actor,
        "verb": _verb(SATISFIED),
        "object": {
            "objectType": "Activity",
            "id": object_id,
            "definition": {"type": object_type, "name": dict(name)},
        },
        "context": _context(
            registration=registration,
            session_id=session_id,
            publisher_id=publisher_id,
            extra={},
        ),
        "timestamp": _timestamp(when),
    }


# --- moveOn --------------------------------------------------------------------------------------


def move_on_met(move_on: str, *, completed: bool, passed: bool) -> bool:
    """Whether an AU is satisfied (13.1.4 moveOn)."""
    if move_on == "NotApplicable":
        return True
    if move_on == "Passed":
        return passed
    if move_on == "Completed":
        return completed
    if move_on == "CompletedAndPassed":
        return completed and passed
    if move_on == "CompletedOrPassed":
        return completed or passed
    return False


def satisfied_blocks(
    blocks: Mapping[int, int | None], au_blocks: Mapping[int, int | None], satisfied_aus: set[int]
) -> set[int]:
    """Blocks all of whose AUs and blocks (recursively) are satisfied. `blocks`: block id ->
    parent block id; `au_blocks`: AU id -> its block id (None at the top)."""
    members: dict[int | None, list[tuple[str, int]]] = {}
    for block, parent in blocks.items():
        members.setdefault(parent, []).append(("block", block))
    for au, au_block in au_blocks.items():
        members.setdefault(au_block, []).append(("au", au))
    memo: dict[int, bool] = {}

    def done(block: int) -> bool:
        if block not in memo:
            memo[block] = bool(members.get(block)) and all(
                (member in satisfied_aus) if kind == "au" else done(member)
                for kind, member in members.get(block, [])
            )
        return memo[block]

    return {block for block in blocks if done(block)}


# --- statements an AU sends ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionView:
    """What the checks need to know about the session, its AU and its registration."""

    actor: dict[str, Any]
    activity_id: str  # the LMS's id of the AU (launch parameter activityId)
    publisher_id: str
    registration: str
    session_id: str
    launch_mode: str
    mastery_score: float | None
    initialized: bool = False
    terminated: bool = False
    abandoned: bool = False
    session_verbs: frozenset[str] = frozenset()
    completed: bool = False  # in the registration
    passed: bool = False  # in the registration


def _ids(items: Any) -> list[str]:
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return []
    return [str(i.get("id")) for i in items if isinstance(i, dict)]


def same_agent(a: Any, b: Mapping[str, Any]) -> bool:
    if not isinstance(a, dict):
        return False
    acc_a, acc_b = a.get("account") or {}, b.get("account") or {}
    return (
        a.get("objectType", "Agent") == "Agent"
        and isinstance(acc_a, dict)
        and str(acc_a.get("homePage", "")).rstrip("/") == str(acc_b.get("homePage", "")).rstrip("/")
        and acc_a.get("name") == acc_b.get("name")
    )


def is_cmi5_defined(st: Mapping[str, Any]) -> bool:
    activities = (st.get("context") or {}).get("contextActivities") or {}
    return CATEGORY_CMI5 in _ids(activities.get("category"))


def check(st: Mapping[str, Any], view: SessionView) -> str | None:
    """Why the LMS refuses this statement of the AU's session (403), or None."""
    verb = str((st.get("verb") or {}).get("id", ""))
    name = VERB_NAMES.get(verb, verb)
    if view.abandoned:
        return _(
            "This AU session was abandoned (the AU was launched again): it takes no more "
            "statements."
        )
    if view.terminated:
        return _("This AU session has ended (terminated): it takes no more statements.")
    if verb == VOIDED:
        return _("An AU may not void statements.")
    if not same_agent(st.get("actor"), view.actor):
        return _("The actor must be the learner given in the launch URL (actor parameter).")
    context = st.get("context") or {}
    if str(context.get("registration", "")).lower() != view.registration:
        return _("context.registration must be the registration given in the launch URL.")
    if (context.get("extensions") or {}).get(EXT_SESSION) != view.session_id:
        return _("context.extensions must hold the session id of LMS.LaunchData (%(ext)s).") % {
            "ext": EXT_SESSION
        }
    activities = context.get("contextActivities") or {}
    categories = _ids(activities.get("category"))
    defined = CATEGORY_CMI5 in categories
    result = st.get("result") or {}
    if not view.initialized and not (defined and verb == INITIALIZED):
        return _("The first statement of an AU session must be the cmi5 “initialized” statement.")
    if not defined:
        if CATEGORY_MOVEON in categories:
            return _(
                "Only cmi5 defined statements (completed, passed, failed) may carry the "
                "moveon category."
            )
        return None  # "cmi5 allowed"
    if verb in LMS_VERBS:
        return _("Only the LMS writes “%(verb)s” statements.") % {"verb": name}
    if verb not in AU_VERBS:
        return _(
            "A statement with the cmi5 category must use a cmi5 verb (initialized, completed, "
            "passed, failed, terminated), not %(verb)s."
        ) % {"verb": verb[:200]}
    obj = st.get("object") or {}
    if obj.get("objectType", "Activity") != "Activity" or obj.get("id") != view.activity_id:
        return _(
            "The object of a cmi5 defined statement must be the AU (activityId of the launch URL)."
        )
    if view.publisher_id not in _ids(activities.get("grouping")):
        return _(
            "A cmi5 defined statement must keep the contextTemplate's grouping (the AU's "
            "publisher id)."
        )
    if verb in view.session_verbs:
        return _("“%(verb)s” was already sent in this session.") % {"verb": name}
    judged = verb in (COMPLETED, PASSED, FAILED)
    if judged and view.launch_mode != NORMAL:
        return _(
            "In %(mode)s mode an AU may not send “%(verb)s” (only initialized and terminated)."
        ) % {"mode": view.launch_mode, "verb": name}
    has_result_status = "success" in result or "completion" in result
    if has_result_status and CATEGORY_MOVEON not in categories:
        return _(
            "A cmi5 defined statement with result success or completion must carry the "
            "moveon category."
        )
    if not has_result_status and CATEGORY_MOVEON in categories:
        return _("Only statements with result success or completion carry the moveon category.")
    if "score" in result and verb not in (PASSED, FAILED):
        return _("Only passed and failed statements may carry a score.")
    scaled = (result.get("score") or {}).get("scaled")
    if verb == COMPLETED:
        if view.completed:
            return _("This AU was already completed in this registration.")
        if result.get("completion") is not True:
            return _("A completed statement needs result.completion true.")
        if "success" in result:
            return _("A completed statement may not carry result.success.")
    elif verb == PASSED:
        if view.passed:
            return _("This AU was already passed in this registration.")
        if {PASSED, FAILED} & view.session_verbs:
            return _("Only one of passed and failed may be sent in a session.")
        if result.get("success") is not True:
            return _("A passed statement needs result.success true.")
        if "completion" in result:
            return _("A passed statement may not carry result.completion.")
        if view.mastery_score is not None and scaled is not None and scaled < view.mastery_score:
            return _(
                "A passed statement's scaled score (%(score)s) is below the masteryScore "
                "(%(mastery)s)."
            ) % {"score": scaled, "mastery": view.mastery_score}
    elif verb == FAILED:
        if view.passed:
            return _("This AU was already passed in this registration: “failed” may not follow.")
        if {PASSED, FAILED} & view.session_verbs:
            return _("Only one of passed and failed may be sent in a session.")
        if result.get("success") is not False:
            return _("A failed statement needs result.success false.")
        if "completion" in result:
            return _("A failed statement may not carry result.completion.")
        if view.mastery_score is not None and scaled is not None and scaled >= view.mastery_score:
            return _(
                "A failed statement's scaled score (%(score)s) reaches the masteryScore "
                "(%(mastery)s)."
            ) % {"score": scaled, "mastery": view.mastery_score}
    elif has_result_status:
        return _("Only completed, passed and failed statements carry result success or completion.")
    return None


def apply(st: Mapping[str, Any], view: SessionView) -> SessionView:
    """The view after an accepted statement."""
    verb = str((st.get("verb") or {}).get("id", ""))
    if not is_cmi5_defined(st) or verb not in AU_VERBS:
        return view
    return dataclasses.replace(
        view,
        initialized=view.initialized or verb == INITIALIZED,
        terminated=view.terminated or verb == TERMINATED,
        session_verbs=view.session_verbs | {verb},
        completed=view.completed or verb == COMPLETED,
        passed=view.passed or verb == PASSED,
    )


def check_all(
    statements: Collection[Mapping[str, Any]], view: SessionView
) -> tuple[int, str] | None:
    """(index, reason) of the first statement refused, or None when all are accepted."""
    for n, st in enumerate(statements):
        reason = check(st, view)
        if reason is not None:
            return n, reason
        view = apply(st, view)
    return None
