"""Reads of assignments: the list with counts, one assignment, a preview before saving, and
"which assignments came from the person's audiences" for the explain view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from uptake.assignments import rules
from uptake.assignments.models import Assignment, AssignmentEnrollment
from uptake.core import clock
from uptake.core.errors import NotFound
from uptake.enrollment.models import Enrollment
from uptake.people.models import Person


def _membership_model() -> Any:
    from uptake.audiences.models import AudienceMembership

    return AudienceMembership


def list_assignments(*, tenant_id: int, active_only: bool = False) -> QuerySet[Assignment]:
    """Assignments with counts in a fixed number of queries: `members` (the audience now),
    `enrolled` (open or completed enrolments it gave), `completed_count`, `overdue_count`."""
    AudienceMembership = _membership_model()
    members = (
        AudienceMembership.objects.filter(audience_id=OuterRef("audience_id"))
        .order_by()
        .values("audience_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    now = clock.now()
    live = ~Q(links__enrollment__status=Enrollment.Status.WITHDRAWN)
    # enrollment.selectors.overdue_q, spelled through the link.
    overdue_links = Q(
        links__enrollment__due_at__isnull=False,
        links__enrollment__due_at__lt=now,
        links__enrollment__status__in=[
            Enrollment.Status.ASSIGNED,
            Enrollment.Status.IN_PROGRESS,
        ],
    )
    qs = (
        Assignment.objects.filter(tenant_id=tenant_id)
        .select_related("audience", "course", "path", "created_by")
        .annotate(
            members=Coalesce(Subquery(members, output_field=IntegerField()), 0),
            enrolled=Count("links", filter=Q(links__isnull=False) & live),
            completed_count=Count(
                "links", filter=Q(links__enrollment__status=Enrollment.Status.COMPLETED)
            ),
            overdue_count=Count("links", filter=overdue_links),
        )
        .order_by("-created_at", "-id")
    )
    if active_only:
        qs = qs.filter(is_active=True)
    return qs


def get_assignment(*, tenant_id: int, assignment_id: int) -> Assignment:
    row = list_assignments(tenant_id=tenant_id).filter(pk=assignment_id).first()
    if row is None:
        raise NotFound(_("There is no assignment %(id)s.") % {"id": assignment_id})
    return row


@dataclass(frozen=True)
class AssignmentPreview:
    members: int
    will_enroll: int  # members who would get at least one new enrolment
    already: int


def preview_assignment(
    *, tenant_id: int, audience: Any, course_ids: list[int]
) -> AssignmentPreview:
    """How many people an assignment of these courses to the audience would enrol now."""
    AudienceMembership = _membership_model()
    if audience.tenant_id != tenant_id:
        raise NotFound(_("There is no audience %(id)s.") % {"id": audience.pk})
    members = AudienceMembership.objects.filter(
        audience=audience, person__is_active=True, person__tenant_id=tenant_id
    )
    total = members.count()
    if not course_ids:
        return AssignmentPreview(members=total, will_enroll=0, already=0)
    covered = (
        Enrollment.objects.filter(
            tenant_id=tenant_id,
            course_id__in=course_ids,
            person_id__in=members.values("person_id"),
        )
        .exclude(status=Enrollment.Status.WITHDRAWN)
        .values("person_id")
        .annotate(n=Count("course_id", distinct=True))
        .filter(n__gte=len(set(course_ids)))
        .count()
    )
    return AssignmentPreview(members=total, will_enroll=total - covered, already=covered)


@dataclass(frozen=True)
class PersonAssignment:
    """An assignment that gave this person learning, why (its audience) and what it gave."""

    assignment: Assignment
    audience: Any
    enrollments: list[Enrollment]
    due_basis: str
    is_member: bool

    @property
    def due_explained(self) -> str:
        return rules.basis_text(self.due_basis, days=self.assignment.due_days)


def assignments_for_person(*, tenant_id: int, person: Person) -> list[PersonAssignment]:
    """Every assignment with enrolments for the person (newest first), with those enrolments,
    the audience that brought them and how the due date was found. Three queries."""
    if person.tenant_id != tenant_id:
        raise NotFound(_("There is no person %(id)s.") % {"id": person.pk})
    links = list(
        AssignmentEnrollment.objects.filter(tenant_id=tenant_id, person=person)
        .select_related(
            "assignment__audience",
            "assignment__course",
            "assignment__path",
            "enrollment__course",
        )
        .order_by("-assignment__created_at", "assignment_id", "enrollment__course__title")
    )
    AudienceMembership = _membership_model()
    member_of = set(
        AudienceMembership.objects.filter(person=person).values_list("audience_id", flat=True)
    )
    grouped: dict[int, list[AssignmentEnrollment]] = {}
    for link in links:
        grouped.setdefault(link.assignment_id, []).append(link)
    return [
        PersonAssignment(
            assignment=rows[0].assignment,
            audience=rows[0].assignment.audience,
            enrollments=[r.enrollment for r in rows],
            due_basis=rows[0].due_basis,
            is_member=rows[0].assignment.audience_id in member_of,
        )
        for rows in grouped.values()
    ]


def get_audience(*, tenant_id: int, audience_id: int) -> Any:
    """An audience of the organisation (NotFound otherwise)."""
    from uptake.audiences.models import Audience

    audience = Audience.objects.filter(tenant_id=tenant_id, pk=audience_id).first()
    if audience is None:
        raise NotFound(_("There is no audience %(id)s.") % {"id": audience_id})
    return audience


def audiences_to_choose(*, tenant_id: int) -> list[Any]:
    from uptake.audiences.models import Audience

    return list(Audience.objects.filter(tenant_id=tenant_id).order_by("name"))
