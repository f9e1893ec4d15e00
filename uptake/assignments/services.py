"""Writes of assignments: create (applies at once to every current member), deactivate, and
apply an audience's membership change (joins enrol, leaves may withdraw), in bulk.

Everything here is set-based: a full recompute of 100,000 people runs a bounded number of
queries per assignment, never one per person."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from uptake.assignments import rules
from uptake.assignments.models import Assignment, AssignmentEnrollment
from uptake.catalog.models import Course
from uptake.core import bulk, bus, clock
from uptake.core.actor import Actor
from uptake.core.errors import FieldProblem, NotFound, ValidationFailed
from uptake.enrollment import services as enrollment_services
from uptake.enrollment.models import Enrollment
from uptake.notifications import services as notifications
from uptake.paths import services as path_services
from uptake.paths.models import LearningPath
from uptake.people.models import Person

CHUNK = 5000
KIND_MANAGER = "assignment.report_assigned"


@dataclass(frozen=True)
class ApplyResult:
    enrolled: int = 0  # people newly enrolled (created or re-activated) in at least one course
    withdrawn: int = 0  # enrolments withdrawn
    managers_notified: int = 0


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _audience_models() -> tuple[Any, Any]:
    from uptake.audiences.models import Audience, AudienceMembership

    return Audience, AudienceMembership


def _target_courses(assignment: Assignment) -> list[int]:
    if assignment.course_id:
        return [assignment.course_id]
    assert assignment.path is not None
    return list(assignment.path.steps.values_list("course_id", flat=True))


def _target_title(assignment: Assignment) -> str:
    target = assignment.course or assignment.path
    return target.title if target else ""


def member_ids(*, audience_id: int) -> list[int]:
    """The audience's current members (ids)."""
    _, AudienceMembership = _audience_models()
    return list(
        AudienceMembership.objects.filter(audience_id=audience_id).values_list(
            "person_id", flat=True
        )
    )


# --- Create / deactivate -----------------------------------------------------------------------


@transaction.atomic
def create_assignment(
    *,
    actor: Actor,
    tenant_id: int,
    audience: Any,
    course: Course | None = None,
    path: LearningPath | None = None,
    due_kind: str = rules.NONE,
    due_days: int | None = None,
    due_date: dt.date | None = None,
    on_leave: str = Assignment.OnLeave.KEEP,
) -> tuple[Assignment, ApplyResult]:
    """Give an audience a published course or path, and enrol every current member at once.

    ValidationFailed for neither or both targets, an unpublished target, a bad due-date rule
    or on-leave setting; NotFound for another organisation's audience, course or path."""
    if audience.tenant_id != tenant_id:
        raise NotFound(_("There is no audience %(id)s.") % {"id": audience.pk})
    problems: list[FieldProblem] = []
    if (course is None) == (path is None):
        problems.append(FieldProblem(_("Choose a path or a course (one of them)."), field="target"))
    for target, field in ((course, "course_id"), (path, "path_id")):
        if target is None:
            continue
        if target.tenant_id != tenant_id:
            raise NotFound(_("There is no %(field)s %(id)s.") % {"field": field, "id": target.pk})
        if target.status != "published":
            problems.append(
                FieldProblem(
                    _("“%(title)s” is not published.") % {"title": target.title}, field=field
                )
            )
    problems += rules.due_rule_problems(
        kind=due_kind, days=due_days, fixed=due_date, today=clock.today()
    )
    if on_leave not in Assignment.OnLeave.values:
        problems.append(FieldProblem(_("Unknown setting."), field="on_leave"))
    if problems:
        raise ValidationFailed(_("The assignment cannot be created as it is."), errors=problems)
    assignment = Assignment.objects.create(
        tenant_id=tenant_id,
        audience=audience,
        course=course,
        path=path,
        due_kind=due_kind,
        due_days=due_days
        if due_kind in (rules.DAYS_AFTER_ASSIGNMENT, rules.DAYS_AFTER_HIRE)
        else None,
        due_date=due_date if due_kind == rules.FIXED_DATE else None,
        on_leave=on_leave,
        created_by_id=actor.person_id,
    )
    result = _apply_joined(
        actor=actor, assignment=assignment, person_ids=member_ids(audience_id=audience.pk)
    )
    return assignment, result


@transaction.atomic
def deactivate_assignment(*, actor: Actor, assignment: Assignment) -> Assignment:
    """Stop an assignment: nobody new is enrolled by it; existing enrolments are kept."""
    if assignment.is_active:
        assignment.is_active = False
        assignment.deactivated_at = clock.now()
        assignment.save(update_fields=["is_active", "deactivated_at", "updated_at"])
    return assignment


@transaction.atomic
def reapply_path_assignments(*, tenant_id: int, path_id: int) -> ApplyResult:
    """Apply every active assignment of a path again to its audience's current members, after
    the path gained a step: they are enrolled in the new course (idempotent for the others)."""
    actor = Actor.system("assignments")
    total = ApplyResult()
    for assignment in (
        Assignment.objects.filter(tenant_id=tenant_id, path_id=path_id, is_active=True)
        .select_related("path")
        .order_by("pk")
    ):
        got = _apply_joined(
            actor=actor,
            assignment=assignment,
            person_ids=member_ids(audience_id=assignment.audience_id),
        )
        total = ApplyResult(
            enrolled=total.enrolled + got.enrolled,
            managers_notified=total.managers_notified + got.managers_notified,
        )
    return total


# --- Membership changes ------------------------------------------------------------------------


@transaction.atomic(savepoint=False)  # all or nothing with the caller: no savepoint
def apply_membership_change(
    *,
    tenant_id: int,
    audience_id: int,
    joined: Iterable[int],
    left: Iterable[int],
    actor: Actor | None = None,
) -> ApplyResult:
    """Apply an audience's joins and leaves to every active assignment of it: joiners are
    enrolled (source "rule", their own due date; idempotent, re-activating withdrawn ones),
    their managers told once per batch; leavers' unstarted enrolments are withdrawn where the
    assignment says so and no other active assignment still gives them the course."""
    actor = actor or Actor.system("assignments")
    joined_ids, left_ids = list(dict.fromkeys(joined)), list(dict.fromkeys(left))
    total = ApplyResult()
    # Read by a statement built once (bulk.instances_where), the course or path when needed
    # (joiners; a path's leavers): the ORM's query with select_related cost a live HR change
    # 3 ms for each audience that changed.
    assignments = bulk.instances_where(
        Assignment, {"tenant_id": tenant_id, "is_active": True}, "audience_id", [audience_id]
    )
    for assignment in assignments:
        got = _apply_joined(actor=actor, assignment=assignment, person_ids=joined_ids)
        withdrawn = _apply_left(actor=actor, assignment=assignment, person_ids=left_ids)
        total = ApplyResult(
            enrolled=total.enrolled + got.enrolled,
            withdrawn=total.withdrawn + withdrawn,
            managers_notified=total.managers_notified + got.managers_notified,
        )
    return total


@functools.lru_cache(maxsize=65_536)
def _due(
    kind: str,
    days: int | None,
    fixed: dt.date | None,
    today: dt.date,
    hire: dt.date | None,
    zone: str,
) -> tuple[dt.datetime | None, str]:
    """A due moment and its basis, memoised across batches: a recompute asks for the same
    (rule, hire date, time zone) thousands of times, once per person and assignment."""
    due = rules.due_date(kind=kind, days=days, fixed=fixed, assigned_on=today, hire_date=hire)
    return rules.end_of_day(due.date, zone), due.basis


def _apply_joined(*, actor: Actor, assignment: Assignment, person_ids: list[int]) -> ApplyResult:
    if not person_ids:
        return ApplyResult()
    tenant_id = assignment.tenant_id
    people: dict[int, tuple[dt.date | None, str, int | None]] = {
        pk: (hire, zone, manager)
        for pk, hire, zone, manager in bulk.rows_where(
            Person,
            {"tenant_id": tenant_id, "is_active": True},
            "pk",
            person_ids,
            "pk",
            "hire_date",
            "time_zone",
            "manager_id",
            scan=False,
        )
    }
    if not people:
        return ApplyResult()
    today = clock.today()
    due_by_person: dict[int, dt.datetime | None] = {}
    basis_by_person: dict[int, str] = {}
    rule = (assignment.due_kind, assignment.due_days, assignment.due_date, today)
    for pk, (hire, zone, _manager) in people.items():
        due_by_person[pk], basis_by_person[pk] = _due(*rule, hire, zone)
    if assignment.course_id is not None:
        assert assignment.course is not None
        results = [
            enrollment_services.enroll_people_due(
                actor=actor,
                tenant_id=tenant_id,
                due_by_person=due_by_person,
                course=assignment.course,
                source=Enrollment.Source.RULE,
                active_ids=people.keys(),
            )
        ]
    else:
        assert assignment.path is not None
        results = list(
            path_services.enroll_people_in_path(
                actor=actor,
                tenant_id=tenant_id,
                path=assignment.path,
                due_by_person=due_by_person,
                source=Enrollment.Source.RULE,
                active_ids=people.keys(),
            ).values()
        )
    # Links can exist only for enrolments that were there before this call.
    earlier = {
        pid
        for result in results
        for pid in result.open_enrollments
        if pid not in result.newly_created
    }
    already_linked = {
        enrollment_id
        for _pid, enrollment_id in bulk.rows_where(
            AssignmentEnrollment,
            {"assignment_id": assignment.pk},
            "person_id",
            earlier,
            "person_id",
            "enrollment_id",
        )
    }
    now = clock.now()
    assignment_id = assignment.pk
    links = [
        (pk, person_id, basis_by_person[person_id])
        for result in results
        for person_id, pk in result.open_enrollments.items()
        if pk not in already_linked
    ]
    newly: set[int] = set().union(*(result.newly_enrolled for result in results))
    # Rows that differ in three columns: expanded by the database.
    bulk.insert_columns(
        AssignmentEnrollment,
        {
            "tenant_id": tenant_id,
            "assignment_id": assignment_id,
            "created_at": now,
            "updated_at": now,
        },
        {
            "enrollment_id": [link[0] for link in links],
            "person_id": [link[1] for link in links],
            "due_basis": [link[2] for link in links],
        },
    )
    managers = _tell_managers_later(
        assignment=assignment, new_people={pk: people[pk][2] for pk in newly}
    )
    return ApplyResult(enrolled=len(newly), managers_notified=managers)


def _apply_left(*, actor: Actor, assignment: Assignment, person_ids: list[int]) -> int:
    if not person_ids or assignment.on_leave != Assignment.OnLeave.WITHDRAW_IF_NOT_STARTED:
        return 0
    _, AudienceMembership = _audience_models()
    tenant_id = assignment.tenant_id
    # Simple indexed lookups, joined in Python: SQLite's planner does badly with the joined
    # form (it may walk every enrolment of the organisation).
    linked = [
        enrollment_id
        for _pid, enrollment_id in bulk.rows_where(
            AssignmentEnrollment,
            {"tenant_id": tenant_id, "assignment_id": assignment.pk},
            "person_id",
            person_ids,
            "person_id",
            "enrollment_id",
        )
    ]
    # By primary key only, the rest (tenant included) checked here: with any other column in
    # the WHERE clause SQLite's planner prefers a (tenant, ...) index and walks every
    # enrolment of the organisation.
    candidates = [
        pk
        for pk, tenant, status, source, started_at, percent in bulk.rows_where(
            Enrollment,
            {},
            "pk",
            linked,
            "pk",
            "tenant_id",
            "status",
            "source",
            "started_at",
            "progress_percent",
            scan=False,
        )
        if tenant == tenant_id
        and status == Enrollment.Status.ASSIGNED
        and source == Enrollment.Source.RULE
        and started_at is None
        and percent == 0
    ]
    if not candidates:
        return 0
    # Kept where another active assignment whose audience still holds the person gives it.
    linked_elsewhere = [
        row
        for row in bulk.rows_where(
            AssignmentEnrollment,
            {},  # the tenant is checked through audience_of
            "enrollment_id",
            candidates,
            "enrollment_id",
            "person_id",
            "assignment_id",
            scan=False,
        )
        if row[2] != assignment.pk
    ]
    audience_of = dict(
        bulk.rows_where(
            Assignment,
            {"tenant_id": tenant_id, "is_active": True},
            "pk",
            {assignment_id for _e, _p, assignment_id in linked_elsewhere},
            "pk",
            "audience_id",
            scan=False,
        )
    )
    others = [
        (enrollment_id, person_id, audience_of[assignment_id])
        for enrollment_id, person_id, assignment_id in linked_elsewhere
        if assignment_id in audience_of
    ]
    still_given: set[int] = set()
    if others:
        held = set(
            bulk.rows_for(
                AudienceMembership.objects.filter(
                    audience_id__in={audience for _e, _p, audience in others}
                ),
                "person_id",
                {person for _e, person, _a in others},
                "person_id",
                "audience_id",
                scan=False,
            )
        )
        still_given = {e for e, person, audience in others if (person, audience) in held}
    withdraw = [e for e in candidates if e not in still_given]
    count = enrollment_services.withdraw_enrollments(
        actor=actor, tenant_id=tenant_id, enrollment_ids=withdraw
    )
    if assignment.path_id is not None:
        assert assignment.path is not None
        path_services.leave_path(
            actor=actor, tenant_id=tenant_id, path=assignment.path, person_ids=person_ids
        )
    return count


# --- Telling managers --------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _due_phrase(language: str, day: dt.date) -> str:
    """ "due 5 March 2027" in the active language (called inside `in_language(language)`;
    the language is part of the cache key). Thousands of report lines share a few dates."""
    return _("due %(date)s") % {"date": formats.date_format(day, "DATE_FORMAT")}


def _tell_managers_later(*, assignment: Assignment, new_people: dict[int, int | None]) -> int:
    """Queue the managers' notifications of a batch (a task after commit: composing and
    storing thousands of messages must not hold up the enrolments). Returns how many managers
    will be told."""
    managers = {manager for manager in new_people.values() if manager}
    if managers:
        from uptake.assignments.tasks import notify_managers_of_new_assignments

        assignment_id = assignment.pk
        today = clock.today().isoformat()

        def enqueue(person_ids: list[int]) -> None:
            # As text: one string instead of a list the task queue checks element by element.
            text = ",".join(map(str, sorted(set(person_ids))))
            notify_managers_of_new_assignments.enqueue(assignment_id, text, today)

        # Once per assignment for a whole recompute (bus.merging_after_commit), not per range.
        bus.after_commit_merged(("assignment-managers", assignment_id, today), new_people, enqueue)
    return len(managers)


def notify_managers(*, assignment_id: int, person_ids: list[int], day: str) -> int:
    """Tell each manager of these people (just given this assignment) in one notification, with
    their due dates (idempotent per manager, batch and day). Returns how many were told."""
    assignment = (
        Assignment.objects.filter(pk=assignment_id).select_related("course", "path").first()
    )
    if assignment is None:
        return 0
    course_ids = _target_courses(assignment)
    due_by_person: dict[int, dt.datetime | None] = {}
    for person_id, due_at in bulk.rows_for(
        Enrollment.objects.filter(tenant_id=assignment.tenant_id, course_id__in=course_ids),
        "person_id",
        person_ids,
        "person_id",
        "due_at",
    ):
        # The earliest due date of the assignment's courses (a path's steps share one).
        known = due_by_person.get(person_id)
        if person_id not in due_by_person or (due_at and (known is None or due_at < known)):
            due_by_person[person_id] = due_at
    new_people = {
        pk: manager
        for pk, manager in bulk.rows_for(
            Person.objects.filter(tenant_id=assignment.tenant_id),
            "pk",
            person_ids,
            "pk",
            "manager_id",
            scan=False,
        )
    }
    return _notify_managers(
        assignment=assignment, new_people=new_people, due_by_person=due_by_person, day=day
    )


def _notify_managers(
    *,
    assignment: Assignment,
    new_people: dict[int, int | None],
    due_by_person: dict[int, dt.datetime | None],
    day: str,
) -> int:
    """One notification (in-app + email) per manager per batch, listing their reports who were
    just given this assignment, with due dates, in the manager's language."""
    by_manager: dict[int, list[int]] = defaultdict(list)
    for person_id, manager_id in new_people.items():
        if manager_id:
            by_manager[manager_id].append(person_id)
    if not by_manager:
        return 0
    tenant_id = assignment.tenant_id
    wanted = set(by_manager) | {p for ids in by_manager.values() for p in ids}
    info: dict[int, tuple[str, str]] = {}
    email_of: dict[int, str] = {}
    for pk, first, last, language, email, active in bulk.rows_for(
        Person.objects.filter(tenant_id=tenant_id),
        "pk",
        wanted,
        "pk",
        "first_name",
        "last_name",
        "language",
        "email",
        "is_active",
        scan=False,
    ):
        info[pk] = (f"{first} {last}".strip(), language)
        email_of[pk] = email if active else ""
    title = _target_title(assignment)
    today = day
    try:
        url = reverse("web:team")
    except Exception:  # the team screen may not be wired in every deployment
        url = ""
    # One language switch per language (not per manager), one formatting per distinct date.
    by_language: dict[str, list[int]] = defaultdict(list)
    for manager_id in by_manager:
        if manager_id in info:
            by_language[info[manager_id][1]].append(manager_id)
    drafts: list[notifications.Draft] = []
    for language, managers in by_language.items():
        with notifications.in_language(language):
            no_due = _("no due date")
            heading = _("These people who report to you now have new learning:")
            for manager_id in managers:
                reports = sorted(by_manager[manager_id], key=lambda p: info.get(p, ("", ""))[0])
                lines = []
                for pid in reports:
                    due = due_by_person.get(pid)
                    when = no_due
                    if due is not None:
                        when = _due_phrase(language, due.date())
                    lines.append(f"- {info.get(pid, ('?', ''))[0]}: {title} ({when})")
                subject = ngettext(
                    "%(name)s was assigned “%(title)s”",
                    "%(count)d of your reports were assigned “%(title)s”",
                    len(reports),
                ) % {
                    "name": info.get(reports[0], ("?", ""))[0],
                    "count": len(reports),
                    "title": title,
                }
                digest = hashlib.sha256(",".join(map(str, sorted(reports))).encode()).hexdigest()
                drafts.append(
                    notifications.Draft(
                        person_id=manager_id,
                        kind=KIND_MANAGER,
                        title=str(subject),
                        body=heading + "\n" + "\n".join(lines),
                        url=url,
                        key=f"assignment:{assignment.pk}:manager:{manager_id}:{today}:{digest[:16]}",
                        email=email_of.get(manager_id, ""),
                    )
                )
    return notifications.notify_each(tenant_id=tenant_id, drafts=drafts)
