"""The assignments API: /api/v1/assignments (list with counts, create with an immediate effect,
read, deactivate, preview). Platform admins only; another organisation's ids answer 404."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from uptake.assignments import selectors, services
from uptake.assignments.models import Assignment
from uptake.catalog import selectors as catalog
from uptake.identity.context import Viewer, viewer_for
from uptake.paths import selectors as paths
from uptake.people import rules as roles

router = Router()


class Ref(Schema):
    id: int
    title: str


class AudienceRef(Schema):
    id: int
    name: str


class AssignmentOut(Schema):
    id: int
    audience: AudienceRef
    course: Ref | None
    path: Ref | None
    due_kind: str
    due_days: int | None
    due_date: dt.date | None
    on_leave: str
    is_active: bool
    created_at: dt.datetime
    deactivated_at: dt.datetime | None
    members: int
    enrolled: int
    completed: int
    overdue: int

    @staticmethod
    def resolve_completed(obj: Assignment) -> int:
        return int(getattr(obj, "completed_count", 0))

    @staticmethod
    def resolve_overdue(obj: Assignment) -> int:
        return int(getattr(obj, "overdue_count", 0))


class AssignmentIn(Schema):
    audience_id: int
    course_id: int | None = None
    path_id: int | None = None
    due_kind: str = "none"
    due_days: int | None = None
    due_date: dt.date | None = None
    on_leave: str = "keep"


class CreatedOut(Schema):
    assignment: AssignmentOut
    enrolled: int
    managers_notified: int


class PreviewIn(Schema):
    audience_id: int
    course_id: int | None = None
    path_id: int | None = None


class PreviewOut(Schema):
    members: int
    will_enroll: int
    already: int


def _admin(request: HttpRequest) -> Viewer:
    viewer = viewer_for(request)
    viewer.require(roles.PLATFORM_ADMIN)
    return viewer


def _targets(viewer: Viewer, course_id: int | None, path_id: int | None) -> tuple[Any, Any]:
    course = (
        catalog.get_course(tenant_id=viewer.tenant_id, course_id=course_id) if course_id else None
    )
    path = paths.get_path(tenant_id=viewer.tenant_id, path_id=path_id) if path_id else None
    return course, path


@router.get("", response=list[AssignmentOut])
def list_assignments(request: HttpRequest, active: bool = False) -> Any:
    """Every assignment with its counts: members, enrolled, completed, overdue."""
    viewer = _admin(request)
    return list(selectors.list_assignments(tenant_id=viewer.tenant_id, active_only=active))


@router.post("", response={201: CreatedOut})
def create_assignment(request: HttpRequest, payload: AssignmentIn) -> Any:
    """Create an assignment; every current member of the audience is enrolled at once."""
    viewer = _admin(request)
    course, path = _targets(viewer, payload.course_id, payload.path_id)
    assignment, result = services.create_assignment(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        audience=selectors.get_audience(
            tenant_id=viewer.tenant_id, audience_id=payload.audience_id
        ),
        course=course,
        path=path,
        due_kind=payload.due_kind,
        due_days=payload.due_days,
        due_date=payload.due_date,
        on_leave=payload.on_leave,
    )
    return 201, {
        "assignment": selectors.get_assignment(
            tenant_id=viewer.tenant_id, assignment_id=assignment.pk
        ),
        "enrolled": result.enrolled,
        "managers_notified": result.managers_notified,
    }


@router.post("/preview", response=PreviewOut)
def preview_assignment(request: HttpRequest, payload: PreviewIn) -> Any:
    """How many people an assignment would enrol now, before saving it."""
    viewer = _admin(request)
    course, path = _targets(viewer, payload.course_id, payload.path_id)
    course_ids = (
        [course.pk] if course else [s.course_id for s in getattr(path, "ordered_steps", [])]
    )
    return selectors.preview_assignment(
        tenant_id=viewer.tenant_id,
        audience=selectors.get_audience(
            tenant_id=viewer.tenant_id, audience_id=payload.audience_id
        ),
        course_ids=course_ids,
    )


@router.get("/{int:assignment_id}", response=AssignmentOut)
def get_assignment(request: HttpRequest, assignment_id: int) -> Any:
    viewer = _admin(request)
    return selectors.get_assignment(tenant_id=viewer.tenant_id, assignment_id=assignment_id)


@router.post("/{int:assignment_id}/deactivate", response=AssignmentOut)
def deactivate_assignment(request: HttpRequest, assignment_id: int) -> Any:
    """Stop the assignment: nobody new is enrolled; existing enrolments stay."""
    viewer = _admin(request)
    assignment = selectors.get_assignment(tenant_id=viewer.tenant_id, assignment_id=assignment_id)
    services.deactivate_assignment(actor=viewer.actor, assignment=assignment)
    return selectors.get_assignment(tenant_id=viewer.tenant_id, assignment_id=assignment_id)
