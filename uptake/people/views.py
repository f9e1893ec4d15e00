"""People screens for admins and data stewards: the list, a person, and the HR import.

The import shows what will change before it changes anything: the first submit is a dry run
(a preview, or the table of bad rows with "Nothing was changed"); the uploaded text is kept in
the viewer's session under a random key until they press "Apply import" or upload another file.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from uptake.core.errors import Conflict, ValidationFailed
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.people import rules, selectors, services

PAGE_SIZE = 50
PREVIEW_NAMES = 100  # names listed per kind in the preview; the counts are always complete
_SESSION_KEY = "people_import"
_READERS = (rules.PLATFORM_ADMIN, rules.DATA_STEWARD)


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


@viewer_required(*_READERS)
def people_list(request: HttpRequest) -> HttpResponse:
    """Search by name, email, employee id or job title; filter by department, location, status."""
    viewer = _viewer(request)
    q = request.GET.get("q", "").strip()
    active = request.GET.get("active", "1")
    filters = {
        "department": request.GET.get("department", ""),
        "location": request.GET.get("location", ""),
        "is_active": {"1": True, "0": False}.get(active),
    }
    people = selectors.search_people(tenant_id=viewer.tenant_id, q=q, filters=filters)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    options = selectors.filter_options(tenant_id=viewer.tenant_id)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "people/list.html",
        {
            "page": page,
            "q": q,
            "active": active,
            "department": filters["department"],
            "location": filters["location"],
            "departments": options["department"],
            "locations": options["location"],
            "query": query.urlencode(),
        },
    )


@viewer_required(*_READERS)
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    viewer = _viewer(request)
    person = selectors.get_person(tenant_id=viewer.tenant_id, person_id=person_id)
    granted = selectors.granted_roles(person=person)
    return render(
        request,
        "people/detail.html",
        {
            "person": person,
            "reports": selectors.direct_reports(manager=person),
            "granted": granted,
            "grantable": [r for r in rules.GRANTABLE_ROLES if r not in granted],
            "can_manage_roles": viewer.has(rules.PLATFORM_ADMIN),
            "role_names": dict(_role_names()),
        },
    )


def _role_names() -> list[tuple[str, str]]:
    return [
        (rules.PLATFORM_ADMIN, _("Platform admin")),
        (rules.CONTENT_OWNER, _("Content owner")),
        (rules.DATA_STEWARD, _("Data steward")),
        (rules.BUSINESS_SPONSOR, _("Business sponsor")),
    ]


@require_POST
@viewer_required(rules.PLATFORM_ADMIN)
def change_role(request: HttpRequest, person_id: int) -> HttpResponse:
    """Grant or revoke one role (POST role=..., action=grant|revoke)."""
    viewer = _viewer(request)
    person = selectors.get_person(tenant_id=viewer.tenant_id, person_id=person_id)
    role = request.POST.get("role", "")
    names = dict(_role_names())
    try:
        if request.POST.get("action") == "revoke":
            services.revoke_role(actor=viewer.actor, person=person, role=role)
            messages.success(
                request,
                _("%(person)s is no longer %(role)s.")
                % {"person": person.full_name, "role": names.get(role, role)},
            )
        else:
            services.grant_role(actor=viewer.actor, person=person, role=role)
            messages.success(
                request,
                _("%(person)s is now %(role)s.")
                % {"person": person.full_name, "role": names.get(role, role)},
            )
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.detail)
    return redirect("people:detail", person_id=person.pk)


def _preview(report: services.ImportReport) -> dict[str, Any]:
    def people(ids: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "employee_id": eid,
                "name": report.names.get(eid, ""),
                "changes": [
                    {"attribute": k, "old": old, "new": new}
                    for k, (old, new) in report.changes.get(eid, {}).items()
                ],
            }
            for eid in ids[:PREVIEW_NAMES]
        ]

    return {
        "report": report,
        "moves": len(report.moved_ids),
        "new_hires": people(report.created_ids),
        "leavers": people(report.deactivated_ids),
        "changed": people(report.updated_ids),
        "more_new": max(0, report.created - PREVIEW_NAMES),
        "more_leavers": max(0, report.deactivated - PREVIEW_NAMES),
        "more_changed": max(0, report.updated - PREVIEW_NAMES),
    }


@viewer_required(rules.PLATFORM_ADMIN)
def import_people(request: HttpRequest) -> HttpResponse:
    """Upload -> preview (dry run) -> apply. Nothing changes before "Apply import"."""
    viewer = _viewer(request)
    context: dict[str, Any] = {"max_mb": services.MAX_IMPORT_BYTES // (1024 * 1024)}
    if request.method != "POST":
        return render(request, "people/import.html", context)

    if request.POST.get("action") == "apply":
        stored = request.session.get(_SESSION_KEY) or {}
        if not stored or stored.get("token") != request.POST.get("token"):
            context["error"] = _("This preview has expired; upload the file again.")
            return render(request, "people/import.html", context, status=400)
        try:
            report = services.import_people_csv(
                actor=viewer.actor,
                tenant_id=viewer.tenant_id,
                data=stored["text"],
                deactivate_missing=stored["deactivate_missing"],
            )
        except (ValidationFailed, Conflict) as exc:
            # The people changed since the preview (e.g. a manager was removed): show why.
            context.update(problems=exc.errors, detail=exc.detail)
            return render(request, "people/import.html", context, status=400)
        finally:
            request.session.pop(_SESSION_KEY, None)
        messages.success(
            request,
            _(
                "Import applied: %(created)d new, %(updated)d changed, "
                "%(deactivated)d leavers, %(unchanged)d unchanged."
            )
            % {
                "created": report.created,
                "updated": report.updated,
                "deactivated": report.deactivated,
                "unchanged": report.unchanged,
            },
        )
        return redirect("people:list")

    upload = request.FILES.get("file")
    deactivate_missing = request.POST.get("deactivate_missing") == "on"
    context["deactivate_missing"] = deactivate_missing
    if upload is None:
        context["error"] = _("Choose a CSV file to upload.")
        return render(request, "people/import.html", context, status=400)
    if upload.size and upload.size > services.MAX_IMPORT_BYTES:
        context["error"] = _("The file is larger than %(mb)d MB.") % {"mb": context["max_mb"]}
        return render(request, "people/import.html", context, status=400)
    data = upload.read()
    try:
        text = rules.decode_csv(data)
        report = services.import_people_csv(
            actor=viewer.actor,
            tenant_id=viewer.tenant_id,
            data=text,
            dry_run=True,
            deactivate_missing=deactivate_missing,
        )
    except rules.CellError as exc:
        context["error"] = str(exc)
        return render(request, "people/import.html", context, status=400)
    except ValidationFailed as exc:
        context.update(problems=exc.errors, detail=exc.detail, filename=upload.name)
        return render(request, "people/import.html", context, status=400)
    token = secrets.token_urlsafe(16)
    request.session[_SESSION_KEY] = {
        "token": token,
        "text": text,
        "deactivate_missing": deactivate_missing,
        "filename": upload.name,
    }
    context.update(_preview(report), token=token, filename=upload.name)
    return render(request, "people/import.html", context)
