"""Uptake's own learning events as xAPI statements (pure: no ORM, no I/O).

A learning event of the fact table (`uptake.analytics.models.LearningEvent`) becomes one
statement about the person (by email, as `mbox`; else an account on Uptake's home page named by
employee id) and the Uptake activity or course (the IRIs of `uptake_link`, so a statement that
comes back to this store moves progress). Verbs are ADL's where one means the same thing;
the others are Uptake's own IRIs under its base URL. The statement id is derived from the
installation, the tenant and the event, so sending an event twice sends the same statement
(an LRS stores it once).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

ADL = "http://adlnet.gov/expapi/verbs/"
# Uptake's verbs: the ADL verb when one means the same, else None (Uptake's own IRI).
VERBS: dict[str, tuple[str | None, str]] = {
    "assigned": (None, "assigned"),
    "withdrawn": (None, "withdrawn"),
    "launched": (ADL + "launched", "launched"),
    "activity_completed": (ADL + "completed", "completed"),
    "attempt_submitted": (ADL + "attempted", "attempted"),
    "passed": (ADL + "passed", "passed"),
    "failed": (ADL + "failed", "failed"),
    "course_completed": (ADL + "completed", "completed"),
    "active_session": (None, "was active"),
}
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "quiz": "http://adlnet.gov/expapi/activities/assessment",
    "scorm": "http://adlnet.gov/expapi/activities/module",
    "video": "http://activitystrea.ms/schema/1.0/video",
    "link": "http://adlnet.gov/expapi/activities/link",
    "file": "http://adlnet.gov/expapi/activities/file",
}
LESSON = "http://adlnet.gov/expapi/activities/lesson"
_NAMESPACE = uuid.UUID("5b0d51c2-0c3e-4b52-9a55-1f0e7a1c0b12")  # Uptake's forwarded statements


@dataclass(frozen=True)
class EventFacts:
    """What a statement needs about one learning event, read beforehand."""

    event_id: int
    tenant_id: int
    verb: str
    object_type: str  # "course" | "activity" | "session"
    object_id: int | None
    course_id: int | None
    occurred_at: dt.datetime
    value: float | None
    person_name: str
    person_email: str
    person_employee_id: str
    person_id: int
    course_title: str = ""
    activity_title: str = ""
    activity_kind: str = ""
    language: str = "en"


def statement_id(base_url: str, tenant_id: int, event_id: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{base_url.rstrip('/')}|{tenant_id}|{event_id}"))


def _actor(facts: EventFacts, home: str) -> dict[str, Any]:
    actor: dict[str, Any] = {"objectType": "Agent"}
    if facts.person_name:
        actor["name"] = facts.person_name
    if facts.person_email:
        actor["mbox"] = "mailto:" + facts.person_email
    else:
        account = facts.person_employee_id or f"person-{facts.person_id}"
        actor["account"] = {"homePage": home, "name": account}
    return actor


def _object(facts: EventFacts, home: str) -> dict[str, Any]:
    base = f"{home}/xapi/activities/course/"
    course_iri = f"{base}{facts.course_id}"
    if facts.object_type == "activity" and facts.object_id is not None:
        definition: dict[str, Any] = {
            "type": ACTIVITY_TYPES.get(facts.activity_kind, LESSON),
        }
        if facts.activity_title:
            definition["name"] = {facts.language: facts.activity_title}
        return {
            "objectType": "Activity",
            "id": f"{course_iri}/activity/{facts.object_id}",
            "definition": definition,
        }
    definition = {"type": ACTIVITY_TYPES["course"]}
    if facts.course_title:
        definition["name"] = {facts.language: facts.course_title}
    return {"objectType": "Activity", "id": course_iri, "definition": definition}


def _timestamp(when: dt.datetime) -> str:
    when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def statement_for(facts: EventFacts, *, base_url: str) -> dict[str, Any]:
    """The xAPI 1.0.3 statement of one learning event."""
    home = base_url.rstrip("/")
    adl, display = VERBS.get(facts.verb, (None, facts.verb.replace("_", " ")))
    verb_iri = adl or f"{home}/xapi/verbs/{facts.verb.replace('_', '-')}"
    st: dict[str, Any] = {
        "id": statement_id(base_url, facts.tenant_id, facts.event_id),
        "actor": _actor(facts, home),
        "verb": {"id": verb_iri, "display": {"en-US": display}},
        "object": _object(facts, home),
        "timestamp": _timestamp(facts.occurred_at),
        "context": {"platform": "Uptake", "language": facts.language or "en"},
    }
    result: dict[str, Any] = {}
    if facts.verb in ("passed", "failed", "attempt_submitted") and facts.value is not None:
        percent = max(0.0, min(100.0, float(facts.value)))
        result["score"] = {"scaled": round(percent / 100, 4), "raw": percent, "min": 0, "max": 100}
    if facts.verb in ("passed", "failed"):
        result["success"] = facts.verb == "passed"
    if facts.verb in ("activity_completed", "course_completed"):
        result["completion"] = True
    if result:
        st["result"] = result
    if facts.object_type == "activity" and facts.course_id is not None:
        st["context"]["contextActivities"] = {
            "parent": [{"objectType": "Activity", "id": f"{home}/xapi/activities/course/"
                        f"{facts.course_id}"}]
        }  # fmt: skip
    return st
