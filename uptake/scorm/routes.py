"""The SCORM API (/api/v1/scorm): authors upload a package to a SCORM activity; the player (the
learner's browser) launches a SCO and commits its run-time data. Another organisation's ids, and
another person's enrolments, answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlsplit

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from uptake.catalog import rules as catalog_rules
from uptake.catalog import selectors as catalog
from uptake.core.errors import NotFound, PermissionDenied, ValidationFailed
from uptake.enrollment import selectors as enrolments
from uptake.enrollment.models import Enrollment
from uptake.identity.context import Viewer, viewer_for
from uptake.paths import selectors as paths
from uptake.scorm import selectors, services
from uptake.scorm.models import Package

router = Router()


class ItemOut(Schema):
    id: int
    identifier: str
    title: str
    level: int
    href: str
    scorm_type: str
    mastery_score: float | None
    scaled_passing_score: float | None


class PackageOut(Schema):
    id: int
    activity_id: int
    version: str
    edition: str
    title: str
    file_count: int
    total_bytes: int
    original_name: str
    uploaded_at: dt.datetime
    items: list[ItemOut]


class LaunchOut(Schema):
    version: str
    session: str
    values: dict[str, str]
    content_url: str


class CommitIn(Schema):
    session: str
    changes: list[tuple[str, Any]] = []
    finish: bool = False


class CommitOut(Schema):
    completion_status: str
    success_status: str
    score_percent: float | None
    total_seconds: float
    satisfied: bool
    activity_completed: bool
    enrollment_status: str
    progress_percent: int


class StateOut(Schema):
    item_id: int
    identifier: str
    completion_status: str
    success_status: str
    score_percent: float | None
    total_seconds: float
    entry: str
    attempt: int
    satisfied: bool
    location: str
    suspend_data: str


def _package_out(package: Package) -> dict[str, Any]:
    return {
        "id": package.pk,
        "activity_id": package.activity_id,
        "version": package.version,
        "edition": package.edition,
        "title": package.title,
        "file_count": package.file_count,
        "total_bytes": package.total_bytes,
        "original_name": package.original_name,
        "uploaded_at": package.uploaded_at,
        "items": [
            {
                "id": i.pk,
                "identifier": i.identifier,
                "title": i.title,
                "level": i.level,
                "href": i.href,
                "scorm_type": i.scorm_type,
                "mastery_score": i.mastery_score,
                "scaled_passing_score": i.scaled_passing_score,
            }
            for i in selectors.items_of(package=package)
        ],
    }


def _authored_activity(viewer: Viewer, activity_id: int) -> Any:
    activity = catalog.get_activity(tenant_id=viewer.tenant_id, activity_id=activity_id)
    if not catalog_rules.can_edit_course(viewer.roles, viewer.person.pk, activity.course):
        # Learners cannot tell an activity they may not edit from one that does not exist.
        if not catalog_rules.can_author(viewer.roles):
            raise NotFound(_("There is no activity %(id)s.") % {"id": activity_id})
        raise PermissionDenied(_("Only the course's owner or a platform admin can edit it."))
    return activity


@router.get("/activities/{int:activity_id}/package", response=PackageOut)
def get_package(request: HttpRequest, activity_id: int) -> Any:
    """The activity's SCORM package: version, files and items (authors only)."""
    viewer = viewer_for(request)
    activity = _authored_activity(viewer, activity_id)
    package = selectors.package_for(activity=activity)
    if package is None:
        raise NotFound(_("“%(title)s” has no SCORM package yet.") % {"title": activity.title})
    return _package_out(package)


@router.post("/activities/{int:activity_id}/package", response={201: PackageOut})
def upload_package(
    request: HttpRequest,
    activity_id: int,
    file: UploadedFile | None = File(None),  # noqa: B008 - ninja's way of declaring a file
) -> Any:
    """Upload a SCORM 1.2 or 2004 zip (multipart field `file`) to a SCORM activity, replacing
    its package. All or nothing: 400 problem+json lists every problem (zip, paths, sizes,
    manifest) and nothing is stored."""
    viewer = viewer_for(request)
    activity = _authored_activity(viewer, activity_id)
    if file is None:
        raise ValidationFailed(_("Send the SCORM zip as the multipart field “file”."))
    package = services.upload_package(actor=viewer.actor, activity=activity, upload=file)
    return 201, _package_out(package)


def _own(viewer: Viewer, enrollment_id: int) -> Enrollment:
    enrollment = enrolments.get_enrollment(tenant_id=viewer.tenant_id, enrollment_id=enrollment_id)
    if enrollment.person_id != viewer.person.pk or enrollment.status == Enrollment.Status.WITHDRAWN:
        raise NotFound(_("There is no enrolment %(id)s.") % {"id": enrollment_id})
    return enrollment


def content_url(package: Package, href: str) -> str:
    """Where the player loads an item: its path quoted, its query and fragment kept."""
    parts = urlsplit(href)
    url = f"/scorm/content/{package.pk}/{quote(parts.path, safe='/')}"
    return (
        url
        + (f"?{parts.query}" if parts.query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


@router.post("/enrollments/{int:enrollment_id}/items/{int:item_id}/launch", response=LaunchOut)
def launch(request: HttpRequest, enrollment_id: int, item_id: int) -> Any:
    """Start a session of a SCO: the values it reads at start and the session key its commits
    carry."""
    viewer = viewer_for(request)
    enrollment = _own(viewer, enrollment_id)
    item = selectors.get_item(tenant_id=viewer.tenant_id, item_id=item_id)
    # As in the course player: a locked step of a learning path cannot be played yet.
    locked = paths.locked_reason(enrollment=enrollment)
    if locked:
        raise PermissionDenied(locked)
    started = services.launch(actor=viewer.actor, enrollment=enrollment, item=item)
    return {
        "version": started.version,
        "session": started.session_key,
        "values": started.values,
        "content_url": content_url(item.package, item.href),
    }


@router.post("/enrollments/{int:enrollment_id}/items/{int:item_id}/commit", response=CommitOut)
def commit(request: HttpRequest, enrollment_id: int, item_id: int, payload: CommitIn) -> Any:
    """Store the values a SCO set (`changes`: [element, value] pairs in the order set);
    `finish` ends the session (LMSFinish / Terminate). 400 lists each refused element with its
    SCORM error code, and nothing is stored; 409 when the session already ended."""
    viewer = viewer_for(request)
    enrollment = _own(viewer, enrollment_id)
    item = selectors.get_item(tenant_id=viewer.tenant_id, item_id=item_id)
    done = services.commit(
        actor=viewer.actor,
        enrollment=enrollment,
        item=item,
        session_key=payload.session,
        changes=[(str(k), v) for k, v in payload.changes],
        finish=payload.finish,
    )
    return {
        "completion_status": done.state.completion_status,
        "success_status": done.state.success_status,
        "score_percent": done.state.score_percent,
        "total_seconds": done.state.total_seconds,
        "satisfied": done.state.satisfied_at is not None,
        "activity_completed": done.activity_completed,
        "enrollment_status": done.enrollment_status,
        "progress_percent": done.progress_percent,
    }


@router.get("/enrollments/{int:enrollment_id}/states", response=list[StateOut])
def states(request: HttpRequest, enrollment_id: int) -> Any:
    """The learner's run-time state of every SCO in the enrolment's course."""
    viewer = viewer_for(request)
    enrollment = _own(viewer, enrollment_id)
    out = []
    for state in selectors.states_of(enrollment=enrollment):
        data = state.data or {}
        out.append(
            {
                "item_id": state.item_id,
                "identifier": state.item.identifier,
                "completion_status": state.completion_status,
                "success_status": state.success_status,
                "score_percent": state.score_percent,
                "total_seconds": state.total_seconds,
                "entry": state.entry,
                "attempt": state.attempt,
                "satisfied": state.satisfied_at is not None,
                "location": data.get("cmi.core.lesson_location", data.get("cmi.location", "")),
                "suspend_data": data.get("cmi.suspend_data", ""),
            }
        )
    return out
