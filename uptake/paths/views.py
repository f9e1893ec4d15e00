"""Path screens: the list and editor for platform admins and content owners, and "My paths"
for learners. Views parse, make one domain call, render; domain errors re-render with the
message."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from uptake.catalog import selectors as catalog
from uptake.core.errors import DomainError
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.paths import selectors, services
from uptake.paths.models import LearningPath
from uptake.people import rules as roles

EDITORS = (roles.PLATFORM_ADMIN, roles.CONTENT_OWNER)


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


def _problem(exc: DomainError) -> str:
    details = "; ".join(p.message for p in exc.errors if p.message and p.message != exc.detail)
    return f"{exc.detail} {details}".strip()


@viewer_required(*EDITORS)
def path_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    error = ""
    if request.method == "POST":
        try:
            path = services.create_path(
                actor=viewer.actor,
                tenant_id=viewer.tenant_id,
                title=request.POST.get("title", ""),
                order_mode=request.POST.get("order_mode", LearningPath.OrderMode.SEQUENTIAL),
                owner=viewer.person,
            )
        except DomainError as exc:
            error = _problem(exc)
        else:
            return redirect("paths:edit", path.pk)
    return render(
        request,
        "paths/list.html",
        {
            "paths": selectors.list_paths(tenant_id=viewer.tenant_id),
            "order_modes": LearningPath.OrderMode.choices,
            "error": error,
        },
    )


def _editor_context(viewer: Viewer, path_id: int, **extra: Any) -> dict[str, Any]:
    path = selectors.get_path(tenant_id=viewer.tenant_id, path_id=path_id)
    steps = list(path.ordered_steps)  # type: ignore[attr-defined]
    used = {s.course_id for s in steps}
    rows = [
        {
            "step": s,
            "prerequisite_ids": {p.pk for p in s.prerequisites.all()},
            "others": [o for o in steps if o.pk != s.pk],
            "condition_text": services.condition_text(s.condition),
        }
        for s in steps
    ]
    courses = [c for c in catalog.search_catalog(tenant_id=viewer.tenant_id) if c.pk not in used]
    return {
        "path": path,
        "rows": rows,
        "courses": courses,
        "order_modes": LearningPath.OrderMode.choices,
        **extra,
    }


@viewer_required(*EDITORS)
def path_edit(request: HttpRequest, path_id: int) -> HttpResponse:
    """The path editor: details, steps (course, required, order, prerequisites, condition)."""
    viewer = _viewer(request)
    ctx = _editor_context(viewer, path_id)
    if request.method != "POST":
        return render(request, "paths/edit.html", ctx)
    path = ctx["path"]
    action = request.POST.get("action", "")
    step_id = request.POST.get("step_id", "")
    try:
        step = (
            selectors.get_step(tenant_id=viewer.tenant_id, step_id=int(step_id))
            if step_id.isdigit()
            else None
        )
        if step is not None and step.path_id != path.pk:
            step = None
        if action == "details":
            services.update_path(
                actor=viewer.actor,
                path=path,
                title=request.POST.get("title", ""),
                description=request.POST.get("description", ""),
                order_mode=request.POST.get("order_mode", path.order_mode),
            )
        elif action == "add_step":
            course_id = request.POST.get("course_id", "")
            if not course_id.isdigit():
                raise DomainError(_("Choose a course to add."))
            services.add_step(
                actor=viewer.actor,
                path=path,
                course=catalog.get_course(tenant_id=viewer.tenant_id, course_id=int(course_id)),
                required=request.POST.get("required") == "on",
                condition=services.parse_condition(request.POST.get("condition", "")),
            )
        elif action == "save_step" and step is not None:
            services.update_step(
                actor=viewer.actor,
                step=step,
                required=request.POST.get("required") == "on",
                condition=services.parse_condition(request.POST.get("condition", "")),
            )
            services.set_prerequisites(
                actor=viewer.actor,
                step=step,
                prerequisite_ids=[
                    int(v) for v in request.POST.getlist("prerequisites") if v.isdigit()
                ],
            )
        elif action in ("up", "down") and step is not None:
            services.move_step(
                actor=viewer.actor,
                step=step,
                position=step.position + (-1 if action == "up" else 1),
            )
        elif action == "remove" and step is not None:
            services.remove_step(actor=viewer.actor, step=step)
        elif action == "publish":
            services.publish_path(actor=viewer.actor, path=path)
            messages.success(request, _("The path is published."))
        else:
            raise DomainError(_("Unknown action."))
    except DomainError as exc:
        ctx = _editor_context(
            viewer, path_id, error=_problem(exc), error_step=step_id, posted=request.POST
        )
        return render(request, "paths/edit.html", ctx, status=400)
    return redirect("paths:edit", path.pk)


@viewer_required()
def my_paths(request: HttpRequest) -> HttpResponse:
    """The learner's paths: progress, each step locked or open, and what unlocks the next."""
    viewer = _viewer(request)
    return render(
        request, "paths/mine.html", {"person_paths": selectors.my_paths(person=viewer.person)}
    )


@viewer_required()
def home_section(request: HttpRequest) -> HttpResponse:
    """htmx fragment for My learning: the learner's paths (loaded after the page, so the
    home page's own queries stay what they are)."""
    viewer = _viewer(request)
    return render(
        request,
        "paths/_home_section.html",
        {"person_paths": selectors.my_paths(person=viewer.person)},
    )
