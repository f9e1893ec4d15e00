"""Assignment screens for platform admins: the list with counts, a create form that shows how
many people will be enrolled before saving (htmx preview), and deactivate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from uptake.assignments import selectors, services
from uptake.assignments.models import Assignment
from uptake.catalog import selectors as catalog
from uptake.core.errors import DomainError, FieldProblem, ValidationFailed
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.paths import selectors as paths
from uptake.paths.models import LearningPath
from uptake.people import rules as roles


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _parsed(viewer: Viewer, data: Any) -> dict[str, Any]:
    """The form's fields as the service's arguments (ValidationFailed for unreadable input)."""
    audience_id = _int(data.get("audience_id"))
    if audience_id is None:
        raise ValidationFailed(
            _("Choose an audience."), errors=[FieldProblem(_("Required."), field="audience_id")]
        )
    target = data.get("target", "")
    course = path = None
    if target.startswith("course:") and _int(target[7:]):
        course = catalog.get_course(tenant_id=viewer.tenant_id, course_id=int(target[7:]))
    elif target.startswith("path:") and _int(target[5:]):
        path = paths.get_path(tenant_id=viewer.tenant_id, path_id=int(target[5:]))
    due_date = None
    if data.get("due_date"):
        try:
            due_date = dt.date.fromisoformat(data["due_date"])
        except ValueError:
            raise ValidationFailed(
                _("The due date is not a date."),
                errors=[FieldProblem(_("Use YYYY-MM-DD."), field="due_date")],
            ) from None
    return {
        "audience": selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id),
        "course": course,
        "path": path,
        "due_kind": data.get("due_kind", "none"),
        "due_days": _int(data.get("due_days")),
        "due_date": due_date,
        "on_leave": data.get("on_leave", Assignment.OnLeave.KEEP),
    }


def _form_context(viewer: Viewer, **extra: Any) -> dict[str, Any]:
    return {
        "audiences": selectors.audiences_to_choose(tenant_id=viewer.tenant_id),
        "courses": list(catalog.published_courses(tenant_id=viewer.tenant_id).only("title")),
        "paths": list(
            paths.list_paths(tenant_id=viewer.tenant_id, status=LearningPath.Status.PUBLISHED)
        ),
        "due_kinds": Assignment.DueKind.choices,
        "on_leave_choices": Assignment.OnLeave.choices,
        **extra,
    }


@viewer_required(roles.PLATFORM_ADMIN)
def assignment_list(request: HttpRequest) -> HttpResponse:
    """Every assignment with members, enrolled, completed and overdue; the create form."""
    viewer = _viewer(request)
    error, posted = "", None
    if request.method == "POST":
        posted = request.POST
        try:
            _assignment, result = services.create_assignment(
                actor=viewer.actor, tenant_id=viewer.tenant_id, **_parsed(viewer, request.POST)
            )
        except DomainError as exc:
            details = "; ".join(p.message for p in exc.errors)
            error = f"{exc.detail} {details}".strip()
        else:
            messages.success(
                request,
                ngettext(
                    "Assignment created: %(count)d person enrolled.",
                    "Assignment created: %(count)d people enrolled.",
                    result.enrolled,
                )
                % {"count": result.enrolled},
            )
            return redirect("assignments:list")
    ctx = _form_context(
        viewer,
        assignments=list(selectors.list_assignments(tenant_id=viewer.tenant_id)),
        error=error,
        posted=posted or {},
    )
    return render(request, "assignments/list.html", ctx, status=400 if error else 200)


@viewer_required(roles.PLATFORM_ADMIN)
def preview(request: HttpRequest) -> HttpResponse:
    """htmx: how many people the assignment in the form would enrol now."""
    viewer = _viewer(request)
    try:
        args = _parsed(viewer, request.GET)
        course_ids = (
            [args["course"].pk]
            if args["course"]
            else [s.course_id for s in getattr(args["path"], "ordered_steps", [])]
        )
        result = selectors.preview_assignment(
            tenant_id=viewer.tenant_id, audience=args["audience"], course_ids=course_ids
        )
    except DomainError as exc:
        return render(request, "assignments/_preview.html", {"error": exc.detail})
    return render(
        request,
        "assignments/_preview.html",
        {"preview": result, "has_target": bool(args["course"] or args["path"])},
    )


@require_POST
@viewer_required(roles.PLATFORM_ADMIN)
def deactivate(request: HttpRequest, assignment_id: int) -> HttpResponse:
    viewer = _viewer(request)
    services.deactivate_assignment(
        actor=viewer.actor,
        assignment=selectors.get_assignment(
            tenant_id=viewer.tenant_id, assignment_id=assignment_id
        ),
    )
    messages.success(request, _("The assignment is stopped; existing enrolments are kept."))
    return redirect("assignments:list")
