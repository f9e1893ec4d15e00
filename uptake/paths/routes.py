"""The learning paths API: /api/v1/paths (CRUD, steps, prerequisites, publish) and
/api/v1/paths/{id}/progress/me. Platform admins and content owners write; learners read the
paths they are on and their own progress. Another organisation's ids answer 404."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from uptake.catalog import selectors as catalog
from uptake.core.errors import NotFound
from uptake.identity.context import Viewer, viewer_for
from uptake.paths import selectors, services
from uptake.paths.models import LearningPath
from uptake.people import rules as roles

router = Router()

EDITORS = (roles.PLATFORM_ADMIN, roles.CONTENT_OWNER)


class CourseRef(Schema):
    id: int
    title: str


class StepOut(Schema):
    id: int
    position: int
    required: bool
    course: CourseRef
    prerequisite_ids: list[int]
    condition: Any | None

    @staticmethod
    def resolve_prerequisite_ids(obj: Any) -> list[int]:
        return sorted(p.pk for p in obj.prerequisites.all())


class PathOut(Schema):
    id: int
    title: str
    slug: str
    description: str
    status: str
    order_mode: str
    owner_id: int | None
    language: str
    estimated_minutes: int
    published_at: dt.datetime | None


class PathDetailOut(PathOut):
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(obj: LearningPath) -> list[Any]:
        return list(getattr(obj, "ordered_steps", []))


class PathIn(Schema):
    title: str
    slug: str = ""
    description: str = ""
    order_mode: str = "sequential"
    language: str = "en"


class PathPatch(Schema):
    title: str | None = None
    slug: str | None = None
    description: str | None = None
    order_mode: str | None = None
    language: str | None = None


class StepIn(Schema):
    course_id: int
    required: bool = True
    condition: Any | None = None
    condition_text: str | None = None


class StepPatch(Schema):
    required: bool | None = None
    position: int | None = None
    condition: Any | None = None
    condition_text: str | None = None
    clear_condition: bool = False


class PrerequisitesIn(Schema):
    prerequisite_ids: list[int]


class StepProgressOut(Schema):
    step_id: int
    course: CourseRef
    required: bool
    state: str
    unlock_hint: str
    enrollment_id: int | None


class ProgressOut(Schema):
    path_id: int
    progress_percent: int
    next_hint: str
    steps: list[StepProgressOut]


def _editor(request: HttpRequest) -> Viewer:
    viewer = viewer_for(request)
    viewer.require(*EDITORS)
    return viewer


def _path(viewer: Viewer, path_id: int) -> LearningPath:
    path = selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)
    if not viewer.has(*EDITORS) and path_id not in {
        p.path.pk for p in selectors.my_paths(person=viewer.person)
    }:
        raise NotFound(f"There is no learning path {path_id}.")
    return path


def _condition(payload: Any) -> Any:
    if payload.condition_text is not None:
        return services.parse_condition(payload.condition_text)
    return payload.condition


@router.get("", response=list[PathOut])
def list_paths(request: HttpRequest) -> Any:
    """Editors see every path; others the paths they are on."""
    viewer = viewer_for(request)
    if viewer.has(*EDITORS):
        return list(selectors.list_paths(tenant_id=viewer.tenant_id))
    return [p.path for p in selectors.my_paths(person=viewer.person)]


@router.post("", response={201: PathDetailOut})
def create_path(request: HttpRequest, payload: PathIn) -> Any:
    viewer = _editor(request)
    path = services.create_path(
        actor=viewer.actor, tenant_id=viewer.tenant_id, owner=viewer.person, **payload.dict()
    )
    return 201, selectors.get_path(tenant_id=viewer.tenant_id, path_id=path.pk)


@router.get("/{int:path_id}", response=PathDetailOut)
def get_path(request: HttpRequest, path_id: int) -> Any:
    return _path(viewer_for(request), path_id)


@router.patch("/{int:path_id}", response=PathDetailOut)
def update_path(request: HttpRequest, path_id: int, payload: PathPatch) -> Any:
    viewer = _editor(request)
    path = selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)
    services.update_path(actor=viewer.actor, path=path, **payload.dict(exclude_none=True))
    return selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)


@router.post("/{int:path_id}/publish", response=PathDetailOut)
def publish_path(request: HttpRequest, path_id: int) -> Any:
    viewer = _editor(request)
    path = selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)
    services.publish_path(actor=viewer.actor, path=path)
    return selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)


@router.post("/{int:path_id}/steps", response={201: PathDetailOut})
def add_step(request: HttpRequest, path_id: int, payload: StepIn) -> Any:
    viewer = _editor(request)
    path = selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)
    services.add_step(
        actor=viewer.actor,
        path=path,
        course=catalog.get_course(tenant_id=viewer.tenant_id, course_id=payload.course_id),
        required=payload.required,
        condition=_condition(payload),
    )
    return 201, selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)


def _step(viewer: Viewer, path_id: int, step_id: int) -> Any:
    step = selectors.get_step(tenant_id=viewer.tenant_id, step_id=step_id)
    if step.path_id != path_id:
        raise NotFound(f"There is no path step {step_id}.")
    return step


@router.patch("/{int:path_id}/steps/{int:step_id}", response=PathDetailOut)
def update_step(request: HttpRequest, path_id: int, step_id: int, payload: StepPatch) -> Any:
    viewer = _editor(request)
    step = _step(viewer, path_id, step_id)
    condition: Any = ...
    if payload.clear_condition:
        condition = None
    elif payload.condition is not None or payload.condition_text is not None:
        condition = _condition(payload)
    services.update_step(
        actor=viewer.actor, step=step, required=payload.required, condition=condition
    )
    if payload.position is not None:
        services.move_step(actor=viewer.actor, step=step, position=payload.position)
    return selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)


@router.delete("/{int:path_id}/steps/{int:step_id}", response={204: None})
def remove_step(request: HttpRequest, path_id: int, step_id: int) -> Any:
    viewer = _editor(request)
    services.remove_step(actor=viewer.actor, step=_step(viewer, path_id, step_id))
    return 204, None


@router.put("/{int:path_id}/steps/{int:step_id}/prerequisites", response=PathDetailOut)
def set_prerequisites(
    request: HttpRequest, path_id: int, step_id: int, payload: PrerequisitesIn
) -> Any:
    """Replace the step's prerequisites; a cycle is refused and named."""
    viewer = _editor(request)
    services.set_prerequisites(
        actor=viewer.actor,
        step=_step(viewer, path_id, step_id),
        prerequisite_ids=payload.prerequisite_ids,
    )
    return selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)


@router.get("/{int:path_id}/progress/me", response=ProgressOut)
def my_progress(request: HttpRequest, path_id: int) -> Any:
    """The viewer's steps on this path: state, what unlocks them, progress."""
    viewer = viewer_for(request)
    path = selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)
    view = selectors.path_for_person(person=viewer.person, path=path)
    return {
        "path_id": path.pk,
        "progress_percent": view.progress_percent,
        "next_hint": view.next_hint,
        "steps": [
            {
                "step_id": s.step.pk,
                "course": s.step.course,
                "required": s.step.required,
                "state": s.state,
                "unlock_hint": s.unlock_hint,
                "enrollment_id": s.enrollment.pk if s.enrollment else None,
            }
            for s in view.steps
        ],
    }
