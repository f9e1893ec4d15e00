"""Enrolment screens for platform admins and managers: assign a course to people (with a
preview of what will happen), and the enrolments table with filters and withdraw.

Platform admins reach everyone in their organisation; managers only their team. Views parse,
make one domain call, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from uptake.catalog import selectors as catalog
from uptake.core import clock
from uptake.core.errors import DomainError, NotFound
from uptake.enrollment import rules, selectors, services
from uptake.enrollment.forms import AssignForm, EnrollmentFilterForm
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.people import rules as roles
from uptake.people import selectors as people

PAGE_SIZE = 50
PREVIEW_NAMES = 30


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


def _assign_form(request: HttpRequest, viewer: Viewer, data: Any | None) -> AssignForm:
    courses = [
        (c.pk, c.title) for c in catalog.published_courses(tenant_id=viewer.tenant_id).only("title")
    ]
    leads = [(p.pk, p.full_name) for p in selectors.team_leads(viewer=viewer)]
    initial: dict[str, Any] = {"include_indirect": True}
    if not viewer.has(roles.PLATFORM_ADMIN):
        initial["team_of"] = viewer.person.pk
    if request.GET.get("course"):
        initial["course"] = request.GET["course"]
    return AssignForm(
        data,
        initial=initial,
        courses=courses,
        options=people.filter_options(tenant_id=viewer.tenant_id),
        team_leads=leads,
    )


def _audience(viewer: Viewer, form: AssignForm) -> list[int]:
    return list(
        selectors.assignment_candidates(
            viewer=viewer,
            q=form.cleaned_data.get("q") or "",
            filters=form.people_filters,
            team_of=form.cleaned_data.get("team_of"),
            include_indirect=bool(form.cleaned_data.get("include_indirect")),
        ).values_list("pk", flat=True)
    )


def _preview(viewer: Viewer, form: AssignForm) -> dict[str, Any]:
    ids = _audience(viewer, form)
    preview = selectors.assignment_preview(
        tenant_id=viewer.tenant_id, course_id=form.cleaned_data["course"], person_ids=ids
    )
    names = people.search_people(tenant_id=viewer.tenant_id).filter(pk__in=ids[:PREVIEW_NAMES])
    return {"preview": preview, "names": list(names), "more": max(0, len(ids) - PREVIEW_NAMES)}


@viewer_required(roles.PLATFORM_ADMIN, roles.MANAGER)
def assign(request: HttpRequest) -> HttpResponse:
    """Assign a course: choose it, choose people (search, filters or a manager's team), see
    how many will be enrolled, set a due date, confirm. htmx asks for the preview alone."""
    viewer = _viewer(request)
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = _assign_form(request, viewer, data)
    context: dict[str, Any] = {"form": form}
    if form.is_bound and form.is_valid():
        if request.method == "POST" and request.POST.get("action") == "assign":
            try:
                result = services.enroll_people(
                    actor=viewer.actor,
                    tenant_id=viewer.tenant_id,
                    person_ids=_audience(viewer, form),
                    course=catalog.get_course(
                        tenant_id=viewer.tenant_id, course_id=form.cleaned_data["course"]
                    ),
                    due_at=form.due_at,
                    viewer=viewer,
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                return render(request, "enrollment/assign_done.html", {"result": result})
        context.update(_preview(viewer, form))
    if getattr(request, "htmx", False) and request.method == "GET":
        return render(request, "enrollment/_preview.html", context)
    return render(request, "enrollment/assign.html", context)


@viewer_required(roles.PLATFORM_ADMIN, roles.MANAGER)
def enrollment_list(request: HttpRequest) -> HttpResponse:
    """Enrolments the viewer may manage, filtered by course and status (overdue included)."""
    viewer = _viewer(request)
    courses = [(c.pk, c.title) for c in catalog.published_courses(tenant_id=viewer.tenant_id)]
    form = EnrollmentFilterForm(request.GET or None, courses=courses)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        if form.cleaned_data.get("course"):
            filters["course_id"] = form.cleaned_data["course"]
        if form.cleaned_data.get("status"):
            filters["status"] = form.cleaned_data["status"]
    page = Paginator(
        selectors.enrollments_visible_to(viewer=viewer, **filters), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "enrollment/list.html",
        {"form": form, "page": page, "rows": _rows(page.object_list), "query": query.urlencode()},
    )


@require_POST
@viewer_required(roles.PLATFORM_ADMIN, roles.MANAGER)
def withdraw(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    viewer = _viewer(request)
    enrollment = selectors.enrollments_visible_to(viewer=viewer).filter(pk=enrollment_id).first()
    if enrollment is None:
        raise NotFound(_("There is no enrolment %(id)s.") % {"id": enrollment_id})
    services.withdraw_enrollment(actor=viewer.actor, enrollment=enrollment, viewer=viewer)
    messages.success(
        request,
        _("%(name)s is withdrawn from “%(title)s”.")
        % {"name": enrollment.person.full_name, "title": enrollment.course.title},
    )
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect("enrollment:list")


def _rows(enrollments: Any) -> list[dict[str, Any]]:
    now = clock.now()
    return [
        {"e": e, "is_overdue": rules.is_overdue(status=e.status, due_at=e.due_at, now=now)}
        for e in enrollments
    ]
