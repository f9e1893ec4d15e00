"""Audience screens: the list, the builder with its live preview, members, and "why" for a
person.

The builder edits one rule two ways kept in sync by htmx: a text box (the rule syntax) and
rows (attribute, operator, value; match all/any). Each change posts the whole form to
`builder_preview`, which answers the preview and, out of band, the other editor redrawn.
Saving uses the text box (always in sync); without JavaScript, "Add condition" and "Preview"
re-render the page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from uptake.audiences import builder, rules, selectors, services
from uptake.audiences.models import Audience
from uptake.core.errors import Conflict, ValidationFailed
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.people import rules as people_rules
from uptake.people.selectors import get_person

ADMIN = people_rules.PLATFORM_ADMIN
READERS = (people_rules.PLATFORM_ADMIN, people_rules.DATA_STEWARD)
PAGE_SIZE = 50
DEFAULT_ROWS = [builder.Row("is_active", "eq", "true")]


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


def _attribute_choices(tenant_id: int, rows: list[builder.Row]) -> list[tuple[str, str]]:
    names = list(rules.ATTRIBUTES)
    names += [f"{rules.CUSTOM_PREFIX}{k}" for k in selectors.custom_keys(tenant_id=tenant_id)]
    names += [r.attr for r in rows if r.attr not in names]
    return [(n, n) for n in names]


def _operator_choices() -> list[tuple[str, str]]:
    return [(op, rules.OP_TEXT[op]) for op in rules.OPERATORS]


def _rows_from_post(request: HttpRequest) -> list[builder.Row]:
    attrs = request.POST.getlist("attr")
    ops = request.POST.getlist("op")
    values = request.POST.getlist("value")
    rows = [
        builder.Row(a, o, v)
        for a, o, v in zip(attrs, ops, values + [""] * len(attrs), strict=False)
    ]
    remove = request.POST.get("remove")
    if remove and remove.isdigit() and 0 < int(remove) <= len(rows):
        del rows[int(remove) - 1]
    if request.POST.get("add"):
        rows.append(builder.Row("department", "eq", ""))
    return rows


class _State:
    """The builder's form state after a change in one editor."""

    def __init__(self, request: HttpRequest, *, tenant_id: int, audience: Audience | None) -> None:
        self.name = request.POST.get("name", audience.name if audience else "")
        self.description = request.POST.get("description", audience.description if audience else "")
        self.source = request.POST.get("source", "text")
        self.match = "any" if request.POST.get("match") == "any" else "all"
        self.rows = _rows_from_post(request)
        self.text = request.POST.get("rule_text", "")
        self.rule: dict[str, Any] | None = None
        self.text_error = ""
        self.rows_error = ""
        self.rows_editable = True
        row_change = self.source == "rows" or request.POST.get("add") or request.POST.get("remove")
        if row_change:
            try:
                self.rule = builder.rule_from_rows(self.match, self.rows)
                self.text = rules.to_text(self.rule)
            except ValidationFailed as exc:
                self.rows_error = "; ".join(p.message for p in exc.errors) or exc.detail
        else:
            try:
                self.rule = rules.parse(self.text)
            except ValidationFailed as exc:
                self.text_error = "; ".join(p.message for p in exc.errors) or exc.detail
            if self.rule is not None:
                flat = builder.rows_from_rule(self.rule)
                if flat is None:
                    self.rows_editable = False
                else:
                    self.match, self.rows = flat

    def context(self, tenant_id: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "match": self.match,
            "rows": self.rows,
            "rule_text": self.text,
            "text_error": self.text_error,
            "rows_error": self.rows_error,
            "rows_editable": self.rows_editable,
            "attributes": _attribute_choices(tenant_id, self.rows),
            "operators": _operator_choices(),
        }


def _initial(audience: Audience | None) -> dict[str, Any]:
    rule = builder.rule_from_rows("all", DEFAULT_ROWS) if audience is None else audience.rule
    flat = builder.rows_from_rule(rule)
    return {
        "name": audience.name if audience else "",
        "description": audience.description if audience else "",
        "match": flat[0] if flat else "all",
        "rows": flat[1] if flat else [],
        "rows_editable": flat is not None,
        "rule_text": rules.to_text(rule),
        "rule": rule,
    }


@viewer_required(*READERS)
def audience_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    show_inactive = request.GET.get("inactive") == "1"
    audiences = selectors.list_audiences(tenant_id=viewer.tenant_id, include_inactive=show_inactive)
    return render(
        request,
        "audiences/list.html",
        {"audiences": audiences, "can_edit": viewer.has(ADMIN), "show_inactive": show_inactive},
    )


def _builder(request: HttpRequest, audience: Audience | None) -> HttpResponse:
    viewer = _viewer(request)
    tenant_id = viewer.tenant_id
    if request.method == "POST" and request.POST.get("action") == "save":
        state = _State(request, tenant_id=tenant_id, audience=audience)
        try:
            if audience is None:
                saved = services.create_audience(
                    actor=viewer.actor,
                    tenant_id=tenant_id,
                    name=state.name,
                    description=state.description,
                    rule_text=request.POST.get("rule_text", ""),
                )
                messages.success(request, _("Audience “%(name)s” created.") % {"name": saved.name})
            else:
                saved = services.update_audience(
                    actor=viewer.actor,
                    audience=audience,
                    name=state.name,
                    description=state.description,
                    rule_text=request.POST.get("rule_text", ""),
                )
                messages.success(request, _("Audience “%(name)s” saved.") % {"name": saved.name})
            return redirect("audiences:members", audience_id=saved.pk)
        except (ValidationFailed, Conflict) as exc:
            context = state.context(tenant_id)
            for problem in exc.errors:
                if problem.field == "name":
                    context["name_error"] = problem.message
                elif problem.field == "rule":
                    context["text_error"] = problem.message
            if not exc.errors:
                context["name_error"] = exc.detail
            return _render_builder(request, audience, context, status=400)
    if request.method == "POST":  # no JavaScript: add/remove a row or preview
        state = _State(request, tenant_id=tenant_id, audience=audience)
        return _render_builder(request, audience, state.context(tenant_id), rule=state.rule)
    initial = _initial(audience)
    rule = initial.pop("rule")
    context = {
        **initial,
        "attributes": _attribute_choices(tenant_id, initial["rows"]),
        "operators": _operator_choices(),
    }
    return _render_builder(request, audience, context, rule=rule)


def _render_builder(
    request: HttpRequest,
    audience: Audience | None,
    context: dict[str, Any],
    *,
    rule: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    viewer = _viewer(request)
    preview = (
        selectors.preview(tenant_id=viewer.tenant_id, rule=rule, audience=audience)
        if rule is not None
        else None
    )
    context.update(audience=audience, preview=preview, sample_size=selectors.SAMPLE_SIZE)
    return render(request, "audiences/builder.html", context, status=status)


@viewer_required(ADMIN)
def audience_new(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@viewer_required(ADMIN)
def audience_edit(request: HttpRequest, audience_id: int) -> HttpResponse:
    viewer = _viewer(request)
    audience = selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id)
    return _builder(request, audience)


@require_POST
@viewer_required(*READERS)
def builder_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the live preview of the builder's rule, and the other editor redrawn out of band."""
    viewer = _viewer(request)
    audience = None
    audience_id = request.POST.get("audience_id", "")
    if audience_id.isdigit():
        audience = selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=int(audience_id))
    state = _State(request, tenant_id=viewer.tenant_id, audience=audience)
    preview = (
        selectors.preview(tenant_id=viewer.tenant_id, rule=state.rule, audience=audience)
        if state.rule is not None
        else None
    )
    context = state.context(viewer.tenant_id)
    context.update(
        audience=audience,
        preview=preview,
        sample_size=selectors.SAMPLE_SIZE,
        oob_text=state.source == "rows"
        or bool(request.POST.get("add") or request.POST.get("remove")),
        oob_rows=state.source != "rows"
        or bool(request.POST.get("add") or request.POST.get("remove")),
    )
    return render(request, "audiences/_builder_update.html", context)


@viewer_required(*READERS)
def audience_members(request: HttpRequest, audience_id: int) -> HttpResponse:
    viewer = _viewer(request)
    audience = selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id)
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    page = selectors.members(
        audience=audience, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = Paginator(range(page.total), PAGE_SIZE).get_page(page_number)
    return render(
        request,
        "audiences/members.html",
        {"audience": audience, "page": page, "pages": pages, "can_edit": viewer.has(ADMIN)},
    )


@require_POST
@viewer_required(ADMIN)
def audience_deactivate(request: HttpRequest, audience_id: int) -> HttpResponse:
    viewer = _viewer(request)
    audience = selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id)
    services.deactivate_audience(actor=viewer.actor, audience=audience)
    messages.success(request, _("Audience “%(name)s” deactivated.") % {"name": audience.name})
    return redirect("audiences:list")


@viewer_required(*READERS)
def person_explain(request: HttpRequest, person_id: int) -> HttpResponse:
    viewer = _viewer(request)
    person = get_person(tenant_id=viewer.tenant_id, person_id=person_id)
    explanation = selectors.explain_person(tenant_id=viewer.tenant_id, person=person)
    return render(request, "audiences/explain.html", {"person": person, "explanation": explanation})
