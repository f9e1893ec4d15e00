"""Writes of enrolment: assign, self-enrol, withdraw, change the due date.

Every change writes its learning event in the same transaction and publishes its domain event
on commit. Permission: when a `viewer` is passed (the UI and the API do), platform admins may
assign anyone in their organisation and managers their own team (direct and indirect reports);
without a viewer (the system actor: rules, imports) no permission check is made.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils.translation import gettext as _

from uptake.analytics import services as analytics
from uptake.analytics.models import Verb
from uptake.catalog.models import Course
from uptake.core import bulk, clock
from uptake.core.actor import Actor
from uptake.core.bus import listened, publish, publish_many
from uptake.core.errors import FieldProblem, NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment import rules
from uptake.enrollment.events import (
    EnrollmentCreated,
    EnrollmentDueDateChanged,
    EnrollmentWithdrawn,
)
from uptake.enrollment.models import Enrollment
from uptake.people import rules as people_rules
from uptake.people.models import Person

if TYPE_CHECKING:
    from uptake.identity.context import Viewer


@dataclass(frozen=True)
class BulkEnrollResult:
    created: int
    reactivated: int
    already: int
    # Person id -> enrolment id of every open or completed enrolment of the batch in the
    # course after the call, and the people newly enrolled (created or re-activated) by it.
    open_enrollments: dict[int, int] = field(default_factory=dict)
    newly_enrolled: frozenset[int] = frozenset()
    # Of those, the people whose enrolment this call created (nothing can refer to it yet).
    newly_created: frozenset[int] = frozenset()

    @property
    def enrolled(self) -> int:
        """People who are newly enrolled by this call (created or re-activated)."""
        return self.created + self.reactivated


# --- Checks ------------------------------------------------------------------------------------


def _check_course(*, tenant_id: int, course: Course) -> None:
    if course.tenant_id != tenant_id:
        raise NotFound(_("There is no course %(id)s.") % {"id": course.pk})
    if course.status != Course.Status.PUBLISHED:
        raise ValidationFailed(
            _("“%(title)s” is not published, so no one can be enrolled in it.")
            % {"title": course.title},
            errors=[FieldProblem(_("The course is not published."), field="course_id")],
        )


def _check_person(*, tenant_id: int, person: Person) -> None:
    if person.tenant_id != tenant_id:
        raise NotFound(_("There is no person %(id)s.") % {"id": person.pk})
    if not person.is_active:
        raise ValidationFailed(
            _("%(name)s is no longer active, so they cannot be enrolled.")
            % {"name": person.full_name},
            errors=[FieldProblem(_("This person is not active."), field="person_id")],
        )


def _check_due(*, due_at: dt.datetime | None, source: str) -> None:
    # Rules may compute a due date that has already passed (an old hire); people may not.
    if source == Enrollment.Source.RULE:
        return
    problem = rules.due_date_problem(due_at=due_at, now=clock.now())
    if problem:
        raise ValidationFailed(problem, errors=[FieldProblem(problem, field="due_at")])


def assignable_person_ids(*, viewer: Viewer, include_indirect: bool = True) -> set[int] | None:
    """Whom the viewer may assign learning to: None means everyone in the organisation
    (platform admins); otherwise the ids of the manager's team (empty for anyone else)."""
    if viewer.has(people_rules.PLATFORM_ADMIN):
        return None
    if not viewer.has(people_rules.MANAGER):
        return set()
    from uptake.people import selectors as people

    return people.team_member_ids(manager=viewer.person, include_indirect=include_indirect)


def check_can_assign(*, viewer: Viewer, tenant_id: int, person_ids: list[int]) -> None:
    """PermissionDenied unless the viewer may assign learning to every one of `person_ids`."""
    if viewer.tenant_id != tenant_id:
        raise NotFound(_("There is no such organisation."))
    if not viewer.has(people_rules.PLATFORM_ADMIN, people_rules.MANAGER):
        raise PermissionDenied(_("Only platform admins and managers can assign learning."))
    allowed = assignable_person_ids(viewer=viewer)
    if allowed is None:
        return
    outside = [pid for pid in person_ids if pid not in allowed]
    if outside:
        raise PermissionDenied(
            _("Managers can only assign learning to their own team."),
            errors=[
                FieldProblem(_("Not in your team."), field="person_ids", row=pid)
                for pid in outside[:50]
            ],
        )


def _check_can_manage(*, viewer: Viewer | None, enrollment: Enrollment) -> None:
    if viewer is None:
        return
    check_can_assign(
        viewer=viewer, tenant_id=enrollment.tenant_id, person_ids=[enrollment.person_id]
    )


# --- Writes ------------------------------------------------------------------------------------


def _assigned_event(enrollment: Enrollment, *, actor: Actor, reactivated: bool):  # type: ignore[no-untyped-def]
    return analytics.new_event(
        tenant_id=enrollment.tenant_id,
        person_id=enrollment.person_id,
        verb=Verb.ASSIGNED,
        object_type="course",
        object_id=enrollment.course_id,
        course_id=enrollment.course_id,
        occurred_at=enrollment.assigned_at,
        data={
            "enrollment_id": enrollment.pk,
            "source": enrollment.source,
            "reactivated": reactivated,
            "actor_person_id": actor.person_id,
        },
    )


def _publish_created(enrollment: Enrollment) -> None:
    publish(
        EnrollmentCreated(
            tenant_id=enrollment.tenant_id,
            enrollment_id=enrollment.pk,
            person_id=enrollment.person_id,
            course_id=enrollment.course_id,
            source=enrollment.source,
            due_at=enrollment.due_at,
        )
    )


def _record_withdrawals(
    enrollments: list[Enrollment], *, actor: Actor, now: dt.datetime, people_checked: bool = False
) -> None:
    """The "withdrawn" learning events (same transaction) and EnrollmentWithdrawn (on commit).
    `people_checked`: the enrolments were just read from the database by their tenant."""
    analytics.record_events(
        people_checked=people_checked,
        events=[
            analytics.new_event(
                tenant_id=e.tenant_id,
                person_id=e.person_id,
                verb=Verb.WITHDRAWN,
                object_type="course",
                object_id=e.course_id,
                course_id=e.course_id,
                occurred_at=now,
                data={"enrollment_id": e.pk, "actor_person_id": actor.person_id},
            )
            for e in enrollments
        ],
    )
    publish_many(
        EnrollmentWithdrawn(
            tenant_id=e.tenant_id,
            enrollment_id=e.pk,
            person_id=e.person_id,
            course_id=e.course_id,
        )
        for e in enrollments
    )


_REACTIVATED_FIELDS = [
    "status",
    "source",
    "assigned_at",
    "assigned_by",
    "due_at",
    "withdrawn_at",
    "updated_at",
]


def _set_reactivated(
    enrollment: Enrollment,
    *,
    actor: Actor,
    source: str,
    due_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """Turn a withdrawn enrolment back on (in memory): status from its progress, new dates."""
    enrollment.status = rules.reactivated_status(
        started=enrollment.started_at is not None, completed=enrollment.completed_at is not None
    )
    enrollment.source = source
    enrollment.assigned_at = now
    enrollment.assigned_by_id = actor.person_id
    enrollment.due_at = due_at
    enrollment.withdrawn_at = None
    enrollment.updated_at = now


def _reactivate(
    enrollment: Enrollment,
    *,
    actor: Actor,
    source: str,
    due_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    _set_reactivated(enrollment, actor=actor, source=source, due_at=due_at, now=now)
    enrollment.save(update_fields=_REACTIVATED_FIELDS)


def _reactivate_many(
    enrollments: list[Enrollment],
    *,
    actor: Actor,
    source: str,
    due_of: Callable[[Enrollment], dt.datetime | None],
    now: dt.datetime,
) -> None:
    for enrollment in enrollments:
        _set_reactivated(enrollment, actor=actor, source=source, due_at=due_of(enrollment), now=now)
    if enrollments:
        Enrollment.objects.bulk_update(enrollments, _REACTIVATED_FIELDS, batch_size=1000)


@transaction.atomic
def enroll_person(
    *,
    actor: Actor,
    tenant_id: int,
    person: Person,
    course: Course,
    source: str = Enrollment.Source.MANUAL,
    due_at: dt.datetime | None = None,
    viewer: Viewer | None = None,
) -> Enrollment:
    """Enrol one person in a published course of the same organisation.

    Idempotent: an active enrolment is returned unchanged; a withdrawn one is re-activated
    with a new assigned_at and due date (its progress is kept). Writes the "assigned" learning
    event and publishes EnrollmentCreated for a new or re-activated enrolment. Raises NotFound
    for another organisation's person or course, ValidationFailed for an inactive person, an
    unpublished course or a due date in the past (manual), PermissionDenied when `viewer` may
    not assign this person.
    """
    _check_course(tenant_id=tenant_id, course=course)
    _check_person(tenant_id=tenant_id, person=person)
    if viewer is not None:
        check_can_assign(viewer=viewer, tenant_id=tenant_id, person_ids=[person.pk])
    _check_due(due_at=due_at, source=source)
    now = clock.now()
    enrollment, created = Enrollment.objects.select_for_update().get_or_create(
        person=person,
        course=course,
        defaults={
            "tenant_id": tenant_id,
            "source": source,
            "status": Enrollment.Status.ASSIGNED,
            "assigned_at": now,
            "assigned_by_id": actor.person_id,
            "due_at": due_at,
        },
    )
    if not created and enrollment.status != Enrollment.Status.WITHDRAWN:
        return enrollment
    if not created:
        _reactivate(enrollment, actor=actor, source=source, due_at=due_at, now=now)
    analytics.record_events(
        events=[_assigned_event(enrollment, actor=actor, reactivated=not created)]
    )
    _publish_created(enrollment)
    return enrollment


@transaction.atomic
def enroll_people(
    *,
    actor: Actor,
    tenant_id: int,
    person_ids: list[int],
    course: Course,
    due_at: dt.datetime | None = None,
    source: str = Enrollment.Source.MANUAL,
    viewer: Viewer | None = None,
) -> BulkEnrollResult:
    """Enrol many people of the organisation in one course (all or nothing).

    One query finds existing enrolments; new ones are bulk-created, withdrawn ones re-activated,
    active ones left as they are (`already`). Raises ValidationFailed listing every unknown or
    inactive person, and the same errors as `enroll_person` otherwise.
    """
    _check_course(tenant_id=tenant_id, course=course)
    ids = list(dict.fromkeys(int(pid) for pid in person_ids))
    if not ids:
        raise ValidationFailed(
            _("Choose at least one person to enrol."),
            errors=[FieldProblem(_("No one is chosen."), field="person_ids")],
        )
    if viewer is not None:
        check_can_assign(viewer=viewer, tenant_id=tenant_id, person_ids=ids)
    _check_due(due_at=due_at, source=source)

    people = dict(
        Person.objects.filter(tenant_id=tenant_id, pk__in=ids).values_list("pk", "is_active")
    )
    unknown = [pid for pid in ids if pid not in people]
    inactive = [pid for pid in ids if people.get(pid) is False]
    if unknown or inactive:
        problems = [
            FieldProblem(_("No such person."), field="person_ids", row=pid) for pid in unknown
        ]
        problems += [
            FieldProblem(_("This person is not active."), field="person_ids", row=pid)
            for pid in inactive
        ]
        raise ValidationFailed(
            _("%(count)d of the chosen people cannot be enrolled: unknown or no longer active.")
            % {"count": len(problems)},
            errors=problems,
        )

    now = clock.now()
    existing = {
        e.person_id: e
        for e in Enrollment.objects.select_for_update().filter(
            tenant_id=tenant_id, course=course, person_id__in=ids
        )
    }
    to_create = [
        Enrollment(
            tenant_id=tenant_id,
            person_id=pid,
            course=course,
            source=source,
            status=Enrollment.Status.ASSIGNED,
            assigned_at=now,
            assigned_by_id=actor.person_id,
            due_at=due_at,
        )
        for pid in ids
        if pid not in existing
    ]
    withdrawn = [e for e in existing.values() if e.status == Enrollment.Status.WITHDRAWN]
    # bulk_create sets primary keys on PostgreSQL and SQLite (RETURNING), which the events need.
    created = Enrollment.objects.bulk_create(to_create, batch_size=500)
    _reactivate_many(withdrawn, actor=actor, source=source, due_of=lambda _e: due_at, now=now)
    changed = [(e, False) for e in created] + [(e, True) for e in withdrawn]
    analytics.record_events(
        events=[_assigned_event(e, actor=actor, reactivated=again) for e, again in changed]
    )
    for enrollment, _again in changed:
        _publish_created(enrollment)
    return BulkEnrollResult(
        created=len(created),
        reactivated=len(withdrawn),
        already=len(existing) - len(withdrawn),
    )


def self_enroll(*, actor: Actor, person: Person, course: Course) -> Enrollment:
    """Enrol oneself in a published, open course of one's organisation (idempotent).

    ValidationFailed when the course is not published or not open for self-enrolment."""
    if course.tenant_id != person.tenant_id:
        raise NotFound(_("There is no course %(id)s.") % {"id": course.pk})
    if course.status != Course.Status.PUBLISHED or not course.is_open:
        raise ValidationFailed(
            _("“%(title)s” is not open for self-enrolment; ask your manager or an admin.")
            % {"title": course.title},
            errors=[FieldProblem(_("The course is not open."), field="course_id")],
        )
    return enroll_person(
        actor=actor,
        tenant_id=person.tenant_id,
        person=person,
        course=course,
        source=Enrollment.Source.SELF,
    )


@transaction.atomic
def withdraw_enrollment(
    *, actor: Actor, enrollment: Enrollment, viewer: Viewer | None = None
) -> Enrollment:
    """Withdraw an enrolment (idempotent): it leaves My learning and every count; its progress
    is kept for a later re-assignment. Writes "withdrawn" and publishes EnrollmentWithdrawn.
    Learners may withdraw from a course they enrolled in themselves."""
    own_choice = (
        viewer is not None
        and enrollment.person_id == viewer.person.pk
        and enrollment.source == Enrollment.Source.SELF
    )
    if not own_choice:
        _check_can_manage(viewer=viewer, enrollment=enrollment)
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if locked.status == Enrollment.Status.WITHDRAWN:
        return locked
    now = clock.now()
    locked.status = Enrollment.Status.WITHDRAWN
    locked.withdrawn_at = now
    locked.save(update_fields=["status", "withdrawn_at", "updated_at"])
    _record_withdrawals([locked], actor=actor, now=now)
    _copy(locked, enrollment)
    return locked


@transaction.atomic
def change_due_date(
    *,
    actor: Actor,
    enrollment: Enrollment,
    due_at: dt.datetime | None,
    viewer: Viewer | None = None,
) -> Enrollment:
    """Set or clear an enrolment's due date (must be in the future). ValidationFailed for a
    withdrawn enrolment. Publishes EnrollmentDueDateChanged when it changes."""
    _check_can_manage(viewer=viewer, enrollment=enrollment)
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if locked.status == Enrollment.Status.WITHDRAWN:
        raise ValidationFailed(_("This enrolment is withdrawn; assign the course again instead."))
    problem = rules.due_date_problem(due_at=due_at, now=clock.now())
    if problem:
        raise ValidationFailed(problem, errors=[FieldProblem(problem, field="due_at")])
    old = locked.due_at
    if old != due_at:
        locked.due_at = due_at
        locked.save(update_fields=["due_at", "updated_at"])
        # Analytics keeps a copy of due dates for its rollups (ADR 0014): in this transaction,
        # so it is never stale.
        analytics.sync_due_dates(
            tenant_id=locked.tenant_id, pairs=[(locked.person_id, locked.course_id)]
        )
        publish(
            EnrollmentDueDateChanged(
                tenant_id=locked.tenant_id,
                enrollment_id=locked.pk,
                person_id=locked.person_id,
                course_id=locked.course_id,
                old_due_at=old,
                new_due_at=due_at,
            )
        )
    _copy(locked, enrollment)
    return locked


def _copy(source: Enrollment, target: Enrollment) -> None:
    """Keep the caller's instance in step with the saved row."""
    if source is target:
        return
    for name in ("status", "withdrawn_at", "due_at", "updated_at"):
        setattr(target, name, getattr(source, name))


_IN_CHUNK = 5000  # keeps `IN (...)` lists far below every database's parameter limit


@transaction.atomic(savepoint=False)  # all or nothing with the caller: no savepoint
def enroll_people_due(
    *,
    actor: Actor,
    tenant_id: int,
    due_by_person: dict[int, dt.datetime | None],
    course: Course,
    source: str = Enrollment.Source.RULE,
    active_ids: Collection[int] | None = None,
) -> BulkEnrollResult:
    """Enrol many people in one course, each with their own due date (rules, imports).

    Like `enroll_people` without a viewer, built for large batches: queries run in chunks, new
    enrolments are inserted in bulk, withdrawn ones re-activated with the person's due date,
    active ones left untouched; every new or re-activated enrolment gets its "assigned"
    learning event and EnrollmentCreated. People who are unknown in this organisation or no
    longer active are skipped (a rule must not fail a whole batch for one leaver).
    """
    _check_course(tenant_id=tenant_id, course=course)
    ids = list(due_by_person)
    now = clock.now()
    course_id = course.pk
    # The caller may already know who of them are active people of this organisation.
    active = (
        set(active_ids)
        if active_ids is not None
        else {
            pk
            for (pk,) in bulk.rows_where(
                Person,
                {"tenant_id": tenant_id, "is_active": True},
                "pk",
                ids,
                "pk",
                scan=False,
            )
        }
    )
    # (person, enrolment, status): one scan of the course's enrolments for a large batch,
    # chunked id lists for a small one.
    existing: dict[int, tuple[int, str]] = {
        pid: (pk, status)
        for pid, pk, status in bulk.rows_where(
            Enrollment,
            {"tenant_id": tenant_id, "course_id": course_id},
            "person_id",
            ids,
            "person_id",
            "pk",
            "status",
        )
    }
    new_ids = [pid for pid in ids if pid in active and pid not in existing]
    # (enrollment id, person id) of the rows inserted: rows that differ in the person and the
    # due date, expanded by the database, which returns their ids.
    created = bulk.insert_columns(
        Enrollment,
        {
            "tenant_id": tenant_id,
            "course_id": course_id,
            "source": source,
            "status": Enrollment.Status.ASSIGNED,
            "assigned_at": now,
            "assigned_by_id": actor.person_id,
            "progress_percent": 0,
            "created_at": now,
            "updated_at": now,
        },
        {"person_id": new_ids, "due_at": [due_by_person[pid] for pid in new_ids]},
        returning=["pk", "person_id"],
    )
    withdrawn_ids = [
        pk
        for pid, (pk, status) in existing.items()
        if pid in active and status == Enrollment.Status.WITHDRAWN
    ]
    withdrawn = (
        list(bulk.with_ids_in(Enrollment.objects.all(), "pk", withdrawn_ids).select_for_update())
        if withdrawn_ids
        else []
    )
    _reactivate_many(
        withdrawn,
        actor=actor,
        source=source,
        due_of=lambda e: due_by_person[e.person_id],
        now=now,
    )
    withdrawn_rows = [(e.pk, e.person_id) for e in withdrawn]
    changed = [(pk, pid, False) for pk, pid in created] + [
        (pk, pid, True) for pk, pid in withdrawn_rows
    ]
    # The "assigned" learning events, as analytics.record_events would write them; their
    # `data` written by the database from a template and the enrolment id: json.dumps of
    # 100,000 small dicts cost more than the rest of building the rows. Same keys and values
    # as the dict form. Their people are those of the enrolments written above (keys checked
    # by the database).
    for again, rows in ((False, created), (True, withdrawn_rows)):
        if not rows:
            continue
        template = (
            '{"enrollment_id": %s, "source": '
            + json.dumps(str(source)).replace("%", "%%")
            + f', "reactivated": {json.dumps(again)}, '
            f'"actor_person_id": {json.dumps(actor.person_id)}}}'
        )
        analytics.insert_event_columns(
            constants={
                "tenant_id": tenant_id,
                "verb": Verb.ASSIGNED,
                "object_type": "course",
                "object_id": course_id,
                "course_id": course_id,
                "occurred_at": now,
            },
            people=[pid for _pk, pid in rows],
            data=[int(pk) for pk, _pid in rows],
            data_template=template,
            people_checked=True,
        )
    if listened(EnrollmentCreated):
        publish_many(
            EnrollmentCreated(
                tenant_id=tenant_id,
                enrollment_id=pk,
                person_id=pid,
                course_id=course_id,
                source=source,
                due_at=due_by_person[pid],
            )
            for pk, pid, _again in changed
        )
    open_enrollments = {
        pid: pk
        for pid, (pk, status) in existing.items()
        if pid in active and status != Enrollment.Status.WITHDRAWN
    }
    open_enrollments.update((pid, pk) for pk, pid, _again in changed)
    return BulkEnrollResult(
        created=len(created),
        reactivated=len(withdrawn),
        already=sum(1 for pid in existing if pid in active) - len(withdrawn),
        open_enrollments=open_enrollments,
        newly_enrolled=frozenset(pid for _pk, pid, _again in changed),
        newly_created=frozenset(pid for _pk, pid in created),
    )


@transaction.atomic(savepoint=False)
def withdraw_enrollments(*, actor: Actor, tenant_id: int, enrollment_ids: list[int]) -> int:
    """Withdraw many enrolments of one organisation at once (rules): open ones become
    withdrawn, each with its "withdrawn" learning event and EnrollmentWithdrawn; already
    withdrawn or completed ones are left as they are. Returns how many were withdrawn."""
    now = clock.now()
    # One UPDATE ... RETURNING per chunk (PostgreSQL, SQLite 3.35+): the rows are locked and
    # changed in one statement, no ORM query built for a live HR change. Names from the model.
    qn = connection.ops.quote_name
    meta = Enrollment._meta
    column = {f.name: qn(str(f.column)) for f in meta.concrete_fields}
    stamp = connection.ops.adapt_datetimefield_value(now)
    found: list[tuple[int, int, int]] = []
    with connection.cursor() as cursor:
        for chunk in bulk.chunks(sorted(set(enrollment_ids)), _IN_CHUNK):
            listed = bulk.int_list(chunk)
            cursor.execute(
                f"UPDATE {qn(meta.db_table)} SET {column['status']} = %s, "  # noqa: S608
                f"{column['withdrawn_at']} = %s, {column['updated_at']} = %s "
                f"WHERE {column['tenant']} = %s AND {column['status']} IN (%s, %s) "
                f"AND {column['id']} IN ({listed}) "
                f"RETURNING {column['id']}, {column['person']}, {column['course']}",
                [
                    Enrollment.Status.WITHDRAWN.value,
                    stamp,
                    stamp,
                    tenant_id,
                    Enrollment.Status.ASSIGNED.value,
                    Enrollment.Status.IN_PROGRESS.value,
                ],
            )
            found.extend(cursor.fetchall())
    rows = [
        Enrollment(pk=pk, tenant_id=tenant_id, person_id=person_id, course_id=course_id)
        for pk, person_id, course_id in sorted(found)
    ]
    _record_withdrawals(rows, actor=actor, now=now, people_checked=True)
    return len(rows)
