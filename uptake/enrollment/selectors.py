"""Reads of enrolment: always tenant-scoped and N+1-safe.

Overdue is derived, never stored: due before now and neither completed nor withdrawn
(`rules.is_overdue` in Python, `overdue_q()` in SQL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from uptake.catalog.models import Activity, Course
from uptake.core import bulk, clock
from uptake.core.errors import NotFound
from uptake.enrollment import rules
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person
from uptake.progress.models import ActivityCompletion

if TYPE_CHECKING:
    from uptake.identity.context import Viewer

OPEN_STATUSES = (Enrollment.Status.ASSIGNED, Enrollment.Status.IN_PROGRESS)


def overdue_q(now: dt.datetime | None = None) -> Q:
    """Enrolments past their due date that are still open (the SQL twin of rules.is_overdue)."""
    return Q(due_at__isnull=False, due_at__lt=now or clock.now(), status__in=OPEN_STATUSES)


# --- My learning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearningItem:
    enrollment: Enrollment
    course: Course
    status: str
    progress_percent: int
    due_at: dt.datetime | None
    is_overdue: bool
    is_due_soon: bool
    next_activity: Activity | None


def _required_in_order() -> Prefetch:
    return Prefetch(
        "course__activities",
        queryset=Activity.objects.filter(required=True).order_by(
            "module__position", "module_id", "position", "id"
        ),
        to_attr="required_in_order",
    )


def _done_ids() -> Prefetch:
    return Prefetch(
        "completions",
        queryset=ActivityCompletion.objects.only("id", "enrollment_id", "activity_id"),
        to_attr="done_rows",
    )


def _next_activity(enrollment: Enrollment) -> Activity | None:
    """The last opened activity if it is not done, else the first required one not done."""
    done = {row.activity_id for row in getattr(enrollment, "done_rows", [])}
    last = enrollment.last_activity
    if last is not None and last.pk not in done and last.course_id == enrollment.course_id:
        return last
    for activity in getattr(enrollment.course, "required_in_order", []):
        if activity.pk not in done:
            return activity
    return None


def my_learning(*, person: Person) -> list[LearningItem]:
    """The person's enrolments (withdrawn ones left out) with their course and next activity:
    overdue first, then by due date, completed last. Three queries, whatever the count."""
    now = clock.now()
    enrollments = (
        Enrollment.objects.filter(tenant_id=person.tenant_id, person=person)
        .exclude(status=Enrollment.Status.WITHDRAWN)
        .select_related("course", "last_activity")
        .prefetch_related(_required_in_order(), _done_ids())
    )
    items = [
        LearningItem(
            enrollment=e,
            course=e.course,
            status=e.status,
            progress_percent=e.progress_percent,
            due_at=e.due_at,
            is_overdue=rules.is_overdue(status=e.status, due_at=e.due_at, now=now),
            is_due_soon=rules.is_due_soon(status=e.status, due_at=e.due_at, now=now),
            next_activity=_next_activity(e),
        )
        for e in enrollments
    ]
    items.sort(
        key=lambda item: rules.learning_sort_key(
            status=item.status,
            due_at=item.due_at,
            assigned_at=item.enrollment.assigned_at,
            now=now,
        )
    )
    return items


# --- One enrolment -----------------------------------------------------------------------------


def get_enrollment(*, tenant_id: int, enrollment_id: int) -> Enrollment:
    """One enrolment of the tenant (any status) with person and course loaded; NotFound for
    another tenant's or a missing id."""
    enrollment = (
        Enrollment.objects.filter(tenant_id=tenant_id, pk=enrollment_id)
        .select_related("person", "course")
        .first()
    )
    if enrollment is None:
        raise NotFound(_("There is no enrolment %(id)s.") % {"id": enrollment_id})
    return enrollment


def enrollment_for(*, person: Person, course: Course) -> Enrollment | None:
    """The person's enrolment in the course, in any status (withdrawn included), or None."""
    return (
        Enrollment.objects.filter(tenant_id=person.tenant_id, person=person, course_id=course.pk)
        .select_related("course")
        .first()
    )


# --- Lists ---------------------------------------------------------------------------------------


def list_enrollments(
    *,
    tenant_id: int,
    course_id: int | None = None,
    person_id: int | None = None,
    person_ids: list[int] | set[int] | None = None,
    status: str | None = None,
    source: str | None = None,
    include_withdrawn: bool = True,
) -> QuerySet[Enrollment]:
    """Enrolments of the tenant, filtered; `status` may be a stored status or "overdue".
    `person_ids` restricts to those people (a manager's team). Person and course are loaded;
    overdue first, then by due date, then newest."""
    qs = Enrollment.objects.filter(tenant_id=tenant_id).select_related("person", "course")
    if course_id is not None:
        qs = qs.filter(course_id=course_id)
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if person_ids is not None:
        qs = bulk.with_ids_in(qs, "person_id", person_ids)
    if source:
        qs = qs.filter(source=source)
    if status == rules.OVERDUE:
        qs = qs.filter(overdue_q())
    elif status:
        qs = qs.filter(status=status)
    elif not include_withdrawn:
        qs = qs.exclude(status=Enrollment.Status.WITHDRAWN)
    from django.db.models import Case, F, IntegerField, Value, When

    return qs.annotate(
        _overdue_rank=Case(
            When(overdue_q(), then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("_overdue_rank", F("due_at").asc(nulls_last=True), "-assigned_at", "-id")


def enrollments_visible_to(*, viewer: Viewer, **filters: object) -> QuerySet[Enrollment]:
    """What the enrolment list shows a viewer: everything for platform admins, the team's
    for managers, one's own for everyone else (same filters as `list_enrollments`)."""
    from uptake.people import rules as people_rules
    from uptake.people import selectors as people

    if viewer.has(people_rules.PLATFORM_ADMIN):
        return list_enrollments(tenant_id=viewer.tenant_id, **filters)  # type: ignore[arg-type]
    if viewer.has(people_rules.MANAGER):
        team = people.team_member_ids(manager=viewer.person, include_indirect=True)
        return list_enrollments(tenant_id=viewer.tenant_id, person_ids=team, **filters)  # type: ignore[arg-type]
    return list_enrollments(tenant_id=viewer.tenant_id, person_ids=[viewer.person.pk], **filters)  # type: ignore[arg-type]


# --- Team overview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamCounts:
    assigned: int = 0
    in_progress: int = 0
    completed: int = 0
    overdue: int = 0


@dataclass(frozen=True)
class TeamMemberRow:
    person: Person
    enrollments: list[Enrollment] = field(default_factory=list)
    counts: TeamCounts = field(default_factory=TeamCounts)


def _counts(enrollments: list[Enrollment], now: dt.datetime) -> TeamCounts:
    statuses = [e.status for e in enrollments]
    return TeamCounts(
        assigned=statuses.count(Enrollment.Status.ASSIGNED),
        in_progress=statuses.count(Enrollment.Status.IN_PROGRESS),
        completed=statuses.count(Enrollment.Status.COMPLETED),
        overdue=sum(
            rules.is_overdue(status=e.status, due_at=e.due_at, now=now) for e in enrollments
        ),
    )


def team_overview(*, manager: Person, include_indirect: bool = False) -> list[TeamMemberRow]:
    """The manager's active reports (everyone below them with `include_indirect`), each with
    their non-withdrawn enrolments (course loaded, overdue first, then by due date, completed
    last) and counts. People with something overdue come first, then by name. The team query
    plus one query for the enrolments."""
    from uptake.people import selectors as people

    now = clock.now()
    members = [
        p
        for p in people.team_members(manager=manager, include_indirect=include_indirect)
        if p.is_active and p.tenant_id == manager.tenant_id
    ]
    by_person: dict[int, list[Enrollment]] = {p.pk: [] for p in members}
    for enrollment in (
        Enrollment.objects.filter(tenant_id=manager.tenant_id, person_id__in=list(by_person))
        .exclude(status=Enrollment.Status.WITHDRAWN)
        .select_related("course")
    ):
        by_person[enrollment.person_id].append(enrollment)
    rows = []
    for person in members:
        enrollments = sorted(
            by_person[person.pk],
            key=lambda e: rules.learning_sort_key(
                status=e.status, due_at=e.due_at, assigned_at=e.assigned_at, now=now
            ),
        )
        rows.append(
            TeamMemberRow(person=person, enrollments=enrollments, counts=_counts(enrollments, now))
        )
    rows.sort(
        key=lambda r: (
            r.counts.overdue == 0,
            r.person.last_name.lower(),
            r.person.first_name.lower(),
            r.person.pk,
        )
    )
    return rows


# --- Assigning -----------------------------------------------------------------------------------


def assignment_candidates(
    *,
    viewer: Viewer,
    q: str = "",
    filters: dict[str, object] | None = None,
    team_of: int | None = None,
    include_indirect: bool = True,
) -> QuerySet[Person]:
    """Active people of the viewer's organisation the viewer may assign learning to, matching
    the search `q` and the people `filters` (department, location, role_family, ...; see
    people.selectors.search_people) and, with `team_of`, in that manager's team.

    Platform admins may choose anyone; managers only their own team; everyone else no one.
    """
    from uptake.enrollment.services import assignable_person_ids
    from uptake.people import selectors as people

    allowed = assignable_person_ids(viewer=viewer)
    qs = people.search_people(tenant_id=viewer.tenant_id, q=q, filters=filters).filter(
        is_active=True
    )
    if allowed is not None:
        qs = qs.filter(pk__in=list(allowed))
    if team_of is not None:
        manager = people.get_person(tenant_id=viewer.tenant_id, person_id=team_of)
        team = people.team_member_ids(manager=manager, include_indirect=include_indirect)
        qs = bulk.with_ids_in(qs, "pk", team)
    return qs


@dataclass(frozen=True)
class AssignmentPreview:
    """What assigning a course to some people will do, before it is done."""

    matching: int  # people chosen
    already: int  # already enrolled (not withdrawn): left as they are
    reactivated: int  # withdrawn before: enrolled again

    @property
    def to_enrol(self) -> int:
        return self.matching - self.already


def assignment_preview(
    *, tenant_id: int, course_id: int, person_ids: list[int] | set[int]
) -> AssignmentPreview:
    """How many of `person_ids` are already enrolled in the course, or were withdrawn (one
    query)."""
    ids = set(person_ids)
    statuses = list(
        Enrollment.objects.filter(
            tenant_id=tenant_id, course_id=course_id, person_id__in=list(ids)
        ).values_list("status", flat=True)
    )
    withdrawn = statuses.count(Enrollment.Status.WITHDRAWN)
    return AssignmentPreview(
        matching=len(ids), already=len(statuses) - withdrawn, reactivated=withdrawn
    )


def team_leads(*, viewer: Viewer) -> list[Person]:
    """Managers whose team the viewer may pick as an audience: every active person with
    active reports (platform admins), or the viewer and the managers in their team."""
    from uptake.enrollment.services import assignable_person_ids

    allowed = assignable_person_ids(viewer=viewer)
    qs = Person.objects.filter(
        tenant_id=viewer.tenant_id, is_active=True, reports__is_active=True
    ).distinct()
    if allowed is not None:
        qs = qs.filter(pk__in=[viewer.person.pk, *allowed])
    return list(qs.order_by("last_name", "first_name", "pk"))
