"""The cmi5 API (/api/v1/cmi5): authors import a course structure into a course; a learner's
client launches an AU (the URL to open). Another organisation's ids answer 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from uptake.catalog import rules as catalog_rules
from uptake.catalog import selectors as catalog
from uptake.cmi5 import selectors, services
from uptake.cmi5.models import CourseStructure
from uptake.core.errors import NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment import selectors as enrolments
from uptake.enrollment.models import Enrollment
from uptake.identity.context import Viewer, viewer_for
from uptake.paths import selectors as paths

router = Router()


class AuOut(Schema):
    id: int
    activity_id: int
    publisher_id: str
    title: str
    url: str
    launch_method: str
    move_on: str
    mastery_score: float | None
    launch_parameters: str
    entitlement_key: str
    activity_type: str
    block: str | None


class BlockOut(Schema):
    id: int
    publisher_id: str
    title: str
    parent: str | None


class StructureOut(Schema):
    id: int
    course_id: int
    module_id: int
    publisher_id: str
    title: str
    description: str
    file_count: int
    created_at: dt.datetime
    blocks: list[BlockOut]
    aus: list[AuOut]


class LaunchIn(Schema):
    mode: str = "Normal"


class LaunchOut(Schema):
    url: str
    session_id: str
    registration: str
    launch_method: str


def _structure_out(cs: CourseStructure) -> dict[str, Any]:
    blocks = list(cs.blocks.all())
    by_id = {b.pk: b.publisher_id for b in blocks}
    return {
        "id": cs.pk,
        "course_id": cs.course_id,
        "module_id": cs.module_id,
        "publisher_id": cs.publisher_id,
        "title": cs.title,
        "description": cs.description,
        "file_count": len(cs.files),
        "created_at": cs.created_at,
        "blocks": [
            {
                "id": b.pk,
                "publisher_id": b.publisher_id,
                "title": b.title,
                "parent": by_id.get(b.parent_id) if b.parent_id else None,
            }
            for b in blocks
        ],
        "aus": [
            {
                "id": au.pk,
                "activity_id": au.activity_id,
                "publisher_id": au.publisher_id,
                "title": au.title,
                "url": au.url,
                "launch_method": au.launch_method,
                "move_on": au.move_on,
                "mastery_score": float(au.mastery_score) if au.mastery_score is not None else None,
                "launch_parameters": au.launch_parameters,
                "entitlement_key": au.entitlement_key,
                "activity_type": au.activity_type,
                "block": by_id.get(au.block_id) if au.block_id else None,
            }
            for au in cs.aus.all()
        ],
    }


def _authored_course(viewer: Viewer, course_id: int) -> Any:
    course = catalog.get_course(tenant_id=viewer.tenant_id, course_id=course_id)
    if not catalog_rules.can_edit_course(viewer.roles, viewer.person.pk, course):
        if not catalog_rules.can_author(viewer.roles):
            raise NotFound(_("There is no course %(id)s.") % {"id": course_id})
        raise PermissionDenied(_("Only the course's owner or a platform admin can edit it."))
    return course


@router.get("/courses/{int:course_id}/structures", response=list[StructureOut])
def list_structures(request: HttpRequest, course_id: int) -> Any:
    """The cmi5 course structures imported into a course (authors only)."""
    viewer = viewer_for(request)
    course = _authored_course(viewer, course_id)
    return [_structure_out(cs) for cs in selectors.structures_of(course=course)]


@router.post("/courses/{int:course_id}/structures", response={201: StructureOut})
def import_structure(
    request: HttpRequest,
    course_id: int,
    file: UploadedFile | None = File(None),  # noqa: B008 - ninja's way of declaring a file
) -> Any:
    """Import a cmi5 course package (multipart field `file`: cmi5.xml, or a zip with cmi5.xml at
    its root and the AU files) into the course as a new module of AU activities. All or
    nothing: 400 problem+json lists every problem; 409 when this cmi5 course is already in it."""
    viewer = viewer_for(request)
    course = _authored_course(viewer, course_id)
    if file is None:
        raise ValidationFailed(_("Send the cmi5.xml or zip as the multipart field “file”."))
    imported = services.import_structure(actor=viewer.actor, course=course, upload=file)
    cs = selectors.get_structure(tenant_id=viewer.tenant_id, structure_id=imported.structure.pk)
    return 201, _structure_out(cs)


def _own(viewer: Viewer, enrollment_id: int) -> Enrollment:
    enrollment = enrolments.get_enrollment(tenant_id=viewer.tenant_id, enrollment_id=enrollment_id)
    if enrollment.person_id != viewer.person.pk or enrollment.status == Enrollment.Status.WITHDRAWN:
        raise NotFound(_("There is no enrolment %(id)s.") % {"id": enrollment_id})
    return enrollment


@router.post("/enrollments/{int:enrollment_id}/aus/{int:au_id}/launch", response=LaunchOut)
def launch(request: HttpRequest, enrollment_id: int, au_id: int, payload: LaunchIn) -> Any:
    """Start a session of an AU for your enrolment (mode Normal, Browse or Review): the URL to
    open, with the cmi5 launch parameters (endpoint, fetch, actor, registration, activityId)."""
    viewer = viewer_for(request)
    enrollment = _own(viewer, enrollment_id)
    au = selectors.get_au(tenant_id=viewer.tenant_id, au_id=au_id)
    locked = paths.locked_reason(enrollment=enrollment)
    if locked:
        raise PermissionDenied(locked)
    server = f"{request.scheme}://{request.get_host()}"
    back = reverse("cmi5:returned", args=[enrollment.pk, au.activity_id])
    started = services.launch(
        actor=viewer.actor,
        enrollment=enrollment,
        au=au,
        server_url=server,
        return_url=f"{server}{back}",
        mode=payload.mode,
    )
    return {
        "url": started.url,
        "session_id": str(started.session.session_id),
        "registration": str(started.session.registration.registration),
        "launch_method": started.launch_method,
    }
