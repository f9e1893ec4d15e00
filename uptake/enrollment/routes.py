"""The enrolment API: /api/v1/enrollments (assign, list, withdraw, change the due date) and
/api/v1/me (my learning, self-enrolment). Parse, one selector or service call, render.

Platform admins see and assign everyone in their organisation, managers their team (direct
and indirect reports), learners see only their own. Another organisation's ids answer 404.
"""

# No `from __future__ import annotations` here: django-ninja's pagination reads the route's
# annotations at import time and cannot resolve them as strings.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from uptake.catalog import selectors as catalog
from uptake.core.errors import FieldProblem, NotFound, ValidationFailed
from uptake.enrollment import selectors, services
from uptake.enrollment.models import Enrollment
from uptake.identity.context import Viewer, viewer_for
from uptake.people import selectors as people

router = Router()
me_router = Router()


# --- Schemas -----------------------------------------------------------------------------------


class CourseRef(Schema):
    id: int
    title: str


class PersonRef(Schema):
    id: int
    full_name: str
    email: str


class EnrollmentOut(Schema):
    id: int
    person: PersonRef
    course: CourseRef
    source: str
    status: str
    is_overdue: bool
    progress_percent: int
    assigned_at: dt.datetime
    due_at: dt.datetime | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    withdrawn_at: dt.datetime | None

    @staticmethod
    def resolve_is_overdue(obj: Enrollment) -> bool:
        from uptake.core import clock
        from uptake.enrollment import rules

        return rules.is_overdue(status=obj.status, due_at=obj.due_at, now=clock.now())


class EnrollmentFilters(Schema):
    course_id: int | None = None
    person_id: int | None = None
    status: str | None = Field(
        None, description="assigned | in_progress | completed | withdrawn | overdue"
    )
    source: Enrollment.Source | None = None


class EnrollmentIn(Schema):
    person_id: int
    course_id: int
    due_at: dt.datetime | None = None


class PeopleFilter(Schema):
    q: str = ""
    department: str | None = None
    location: str | None = None
    role_family: str | None = None
    country: str | None = None
    employment_type: str | None = None
    manager_id: int | None = Field(None, description="direct reports of this person")
    team_of: int | None = Field(None, description="everyone below this manager")


class BulkEnrollmentIn(Schema):
    course_id: int
    person_ids: list[int] | None = None
    people: PeopleFilter | None = None
    due_at: dt.datetime | None = None


class BulkEnrollmentOut(Schema):
    created: int
    reactivated: int
    already: int
    enrolled: int


class EnrollmentPatch(Schema):
    due_at: dt.datetime | None


class ActivityRef(Schema):
    id: int
    title: str
    kind: str


class LearningItemOut(Schema):
    enrollment_id: int
    course: CourseRef
    status: str
    progress_percent: int
    due_at: dt.datetime | None
    is_overdue: bool
    is_due_soon: bool
    next_activity: ActivityRef | None

    @staticmethod
    def resolve_enrollment_id(obj: selectors.LearningItem) -> int:
        return obj.enrollment.pk


class SelfEnrollmentIn(Schema):
    course_id: int


# --- Helpers -----------------------------------------------------------------------------------


def _visible_enrollment(viewer: Viewer, enrollment_id: int) -> Enrollment:
    """The enrolment if the viewer may see it; 404 otherwise (ids cannot be probed)."""
    enrollment = selectors.enrollments_visible_to(viewer=viewer).filter(pk=enrollment_id).first()
    if enrollment is None:
        raise NotFound(f"There is no enrolment {enrollment_id}.")
    return enrollment


def _person_ids(viewer: Viewer, payload: BulkEnrollmentIn) -> list[int]:
    if payload.person_ids is not None:
        return payload.person_ids
    if payload.people is None:
        raise ValidationFailed(
            "Give person_ids or a people filter.",
            errors=[FieldProblem("person_ids or people is required", field="person_ids")],
        )
    filters = payload.people.dict(exclude={"q", "team_of"}, exclude_none=True)
    return list(
        selectors.assignment_candidates(
            viewer=viewer, q=payload.people.q, filters=filters, team_of=payload.people.team_of
        ).values_list("pk", flat=True)
    )


# --- /enrollments ------------------------------------------------------------------------------


@router.get("", response=list[EnrollmentOut])
@paginate(LimitOffsetPagination)
def list_enrollments(request: HttpRequest, filters: Query[EnrollmentFilters]) -> Any:
    """Enrolments the viewer may see (admins: all; managers: their team; others: their own),
    overdue first, then by due date."""
    viewer = viewer_for(request)
    return selectors.enrollments_visible_to(viewer=viewer, **filters.dict(exclude_none=True))


@router.get("/{int:enrollment_id}", response=EnrollmentOut)
def get_enrollment(request: HttpRequest, enrollment_id: int) -> Any:
    return _visible_enrollment(viewer_for(request), enrollment_id)


@router.post("", response={201: EnrollmentOut})
def create_enrollment(request: HttpRequest, payload: EnrollmentIn) -> Any:
    """Assign a course to one person (idempotent: an existing enrolment is returned)."""
    viewer = viewer_for(request)
    enrollment = services.enroll_person(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        person=people.get_person(tenant_id=viewer.tenant_id, person_id=payload.person_id),
        course=catalog.get_course(tenant_id=viewer.tenant_id, course_id=payload.course_id),
        due_at=payload.due_at,
        viewer=viewer,
    )
    return 201, selectors.get_enrollment(tenant_id=viewer.tenant_id, enrollment_id=enrollment.pk)


@router.post("/bulk", response=BulkEnrollmentOut)
def bulk_enroll(request: HttpRequest, payload: BulkEnrollmentIn) -> Any:
    """Assign a course to many people: `person_ids`, or everyone (active, whom you may assign)
    matching the `people` filter. All or nothing."""
    viewer = viewer_for(request)
    course = catalog.get_course(tenant_id=viewer.tenant_id, course_id=payload.course_id)
    result = services.enroll_people(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        person_ids=_person_ids(viewer, payload),
        course=course,
        due_at=payload.due_at,
        viewer=viewer,
    )
    return {
        "created": result.created,
        "reactivated": result.reactivated,
        "already": result.already,
        "enrolled": result.enrolled,
    }


@router.post("/{int:enrollment_id}/withdraw", response=EnrollmentOut)
def withdraw(request: HttpRequest, enrollment_id: int) -> Any:
    viewer = viewer_for(request)
    enrollment = _visible_enrollment(viewer, enrollment_id)
    services.withdraw_enrollment(actor=viewer.actor, enrollment=enrollment, viewer=viewer)
    return enrollment


@router.patch("/{int:enrollment_id}", response=EnrollmentOut)
def change_due_date(request: HttpRequest, enrollment_id: int, payload: EnrollmentPatch) -> Any:
    """Set (or clear, with null) the due date."""
    viewer = viewer_for(request)
    enrollment = _visible_enrollment(viewer, enrollment_id)
    services.change_due_date(
        actor=viewer.actor, enrollment=enrollment, due_at=payload.due_at, viewer=viewer
    )
    return enrollment


# --- /me ---------------------------------------------------------------------------------------


@me_router.get("/learning", response=list[LearningItemOut])
def my_learning(request: HttpRequest) -> Any:
    """My assignments and progress, as on My learning: overdue first, completed last."""
    return selectors.my_learning(person=viewer_for(request).person)


@me_router.post("/enrollments", response={201: EnrollmentOut})
def self_enroll(request: HttpRequest, payload: SelfEnrollmentIn) -> Any:
    """Enrol myself in a published course open for self-enrolment (idempotent)."""
    viewer = viewer_for(request)
    enrollment = services.self_enroll(
        actor=viewer.actor,
        person=viewer.person,
        course=catalog.get_course(tenant_id=viewer.tenant_id, course_id=payload.course_id),
    )
    return 201, selectors.get_enrollment(tenant_id=viewer.tenant_id, enrollment_id=enrollment.pk)
