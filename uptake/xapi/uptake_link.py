"""Statements about Uptake activities feed progress and the event fact table.

Uptake activity IRIs: `{UPTAKE_BASE_URL}/xapi/activities/course/<course id>/activity/<id>`
(and `.../course/<course id>` for the course). A statement whose verb is ADL's `completed` or
`passed` and whose object is such an activity completes it for the learner through
`uptake.progress.services.complete_activity` (which writes the `activity_completed` learning
event and may complete the course). The learner is the actor, found in the statement's tenant
by `mbox` (the person's email) or by an `account` whose homePage is Uptake's base URL and whose
name is the person's employee id.

A statement that names no known person, enrolment or activity, or a knowledge check (passed
in Uptake by answering it), is still stored; it just moves no progress.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from uptake.catalog.models import Activity
from uptake.core.actor import Actor
from uptake.core.errors import DomainError
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person
from uptake.progress import services as progress

COMPLETING_VERBS = {
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/passed",
}


def base_iri() -> str:
    return str(settings.UPTAKE_BASE_URL).rstrip("/") + "/xapi/activities/course/"


def course_iri(course_id: int) -> str:
    return f"{base_iri()}{course_id}"


def activity_iri(course_id: int, activity_id: int) -> str:
    return f"{base_iri()}{course_id}/activity/{activity_id}"


def parse_activity_iri(iri: str) -> tuple[int, int] | None:
    """(course id, activity id) of an Uptake activity IRI, else None."""
    base = base_iri()
    if not iri.startswith(base):
        return None
    m = re.fullmatch(r"(\d+)/activity/(\d+)/?", iri[len(base) :])
    return (int(m.group(1)), int(m.group(2))) if m else None


def _person(tenant_id: int, agent: dict[str, Any]) -> Person | None:
    people = Person.objects.filter(tenant_id=tenant_id, is_active=True)
    mbox = agent.get("mbox")
    if isinstance(mbox, str) and mbox.lower().startswith("mailto:"):
        return people.filter(email__iexact=mbox[len("mailto:") :]).first()
    account = agent.get("account")
    if isinstance(account, dict):
        home = str(account.get("homePage", "")).rstrip("/")
        if home == str(settings.UPTAKE_BASE_URL).rstrip("/"):
            return people.filter(employee_id=str(account.get("name", ""))).first()
    return None


def apply(*, actor: Actor, tenant_id: int, statements: list[dict[str, Any]]) -> int:
    """Complete the Uptake activities the statements report completed or passed (call inside
    the transaction that stores them); returns how many statements moved progress."""
    moved = 0
    for st in statements:
        if st["verb"]["id"] not in COMPLETING_VERBS:
            continue
        obj = st["object"]
        if obj.get("objectType", "Activity") != "Activity":
            continue
        ids = parse_activity_iri(str(obj.get("id", "")))
        if ids is None:
            continue
        course_id, activity_id = ids
        person = _person(tenant_id, st["actor"])
        if person is None:
            continue
        activity = Activity.objects.filter(
            tenant_id=tenant_id, pk=activity_id, course_id=course_id
        ).first()
        enrollment = Enrollment.objects.filter(
            tenant_id=tenant_id, person=person, course_id=course_id
        ).first()
        if activity is None or enrollment is None or activity.kind == Activity.Kind.QUIZ:
            continue
        try:
            progress.complete_activity(
                actor=Actor.person(person.pk, label=actor.label),
                enrollment=enrollment,
                activity=activity,
            )
        except DomainError:
            continue  # e.g. a withdrawn enrolment: the statement stays stored
        moved += 1
    return moved
