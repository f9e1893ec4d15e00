"""Audiences API (mounted at /audiences): list, read, create, edit, deactivate, preview a rule,
list members, explain a person's audiences.

Platform admins may do everything; data stewards may read (list, get, members, preview,
explain). Another tenant's ids answer 404. A bad rule answers problem+json whose errors say
where: [{"field": "rule", "message": "line 1, column 14: unknown attribute ..."}].
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from uptake.audiences import rules, selectors, services
from uptake.audiences.models import Audience
from uptake.identity.context import Viewer, viewer_for
from uptake.people import rules as people_rules
from uptake.people.selectors import get_person

router = Router()

ADMINS = (people_rules.PLATFORM_ADMIN,)
READERS = (people_rules.PLATFORM_ADMIN, people_rules.DATA_STEWARD)


class AudienceOut(Schema):
    id: int
    name: str
    description: str
    rule: dict[str, Any]
    rule_text: str
    version: int
    is_active: bool
    member_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AudienceIn(Schema):
    name: str
    description: str = ""
    rule: dict[str, Any] | str | None = Field(
        None, description="The rule as a JSON tree, or as text in the rule syntax"
    )
    rule_text: str | None = Field(None, description="The rule in the text syntax")


class AudiencePatch(Schema):
    name: str | None = None
    description: str | None = None
    rule: dict[str, Any] | str | None = None
    rule_text: str | None = None
    is_active: bool | None = None


class PreviewIn(Schema):
    rule: dict[str, Any] | str | None = None
    rule_text: str | None = None
    audience_id: int | None = Field(None, description="Also show who would join and leave")


class PersonBrief(Schema):
    id: int
    employee_id: str
    full_name: str
    department: str
    location: str
    job_title: str


class PreviewOut(Schema):
    rule: dict[str, Any]
    rule_text: str
    count: int
    sample: list[PersonBrief]
    will_join: int | None = None
    will_join_sample: list[PersonBrief] = Field(default_factory=list)
    will_leave: int | None = None
    will_leave_sample: list[PersonBrief] = Field(default_factory=list)


class MemberOut(Schema):
    person: PersonBrief
    joined_at: dt.datetime
    rule_version: int


class MemberPageOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[MemberOut]


class Paging(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class NodeOut(Schema):
    kind: str
    text: str
    result: bool
    children: list[NodeOut] = Field(default_factory=list)


class AudienceWhyOut(Schema):
    audience_id: int
    name: str
    is_member: bool
    matches: bool
    joined_at: dt.datetime | None
    rule_version: int | None
    why: NodeOut


class ChangeOut(Schema):
    audience_id: int
    audience_name: str
    change: str
    rule_version: int
    reason: str
    at: dt.datetime


class ExplainOut(Schema):
    person_id: int
    audiences: list[AudienceWhyOut]
    history: list[ChangeOut]


def _viewer(request: HttpRequest, roles: tuple[str, ...]) -> Viewer:
    viewer = viewer_for(request)
    viewer.require(*roles)
    return viewer


def _node(node: Any) -> dict[str, Any]:
    return {
        "kind": node.kind,
        "text": node.text,
        "result": node.result,
        "children": [_node(c) for c in node.children],
    }


@router.get("", response=list[AudienceOut], summary="List audiences")
def list_audiences(request: HttpRequest, include_inactive: bool = False) -> list[Audience]:
    viewer = _viewer(request, READERS)
    return list(
        selectors.list_audiences(tenant_id=viewer.tenant_id, include_inactive=include_inactive)
    )


@router.post("", response={201: AudienceOut}, summary="Create an audience")
def create_audience(request: HttpRequest, payload: AudienceIn) -> tuple[int, Audience]:
    """The rule may be given as JSON (`rule`) or as text (`rule_text`, or `rule` as a string);
    members are computed at once."""
    viewer = _viewer(request, ADMINS)
    audience = services.create_audience(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        name=payload.name,
        description=payload.description,
        rule=payload.rule,
        rule_text=payload.rule_text,
    )
    return 201, selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience.pk)


@router.post("/preview", response=PreviewOut, summary="Preview a rule")
def preview(request: HttpRequest, payload: PreviewIn) -> dict[str, Any]:
    """How many people a rule selects, the first 20 by name, and with `audience_id` who would
    join and leave if the audience took this rule."""
    viewer = _viewer(request, READERS)
    rule = services.rule_from_input(rule=payload.rule, rule_text=payload.rule_text)
    audience = (
        selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=payload.audience_id)
        if payload.audience_id is not None
        else None
    )
    result = selectors.preview(tenant_id=viewer.tenant_id, rule=rule, audience=audience)
    return {"rule": rule, "rule_text": rules.to_text(rule), **vars(result)}


@router.get("/explain/{person_id}", response=ExplainOut, summary="A person's audiences and why")
def explain(request: HttpRequest, person_id: int) -> dict[str, Any]:
    viewer = _viewer(request, READERS)
    person = get_person(tenant_id=viewer.tenant_id, person_id=person_id)
    result = selectors.explain_person(tenant_id=viewer.tenant_id, person=person)
    return {
        "person_id": person.pk,
        "audiences": [
            {
                "audience_id": a.audience.pk,
                "name": a.audience.name,
                "is_member": a.is_member,
                "matches": a.matches,
                "joined_at": a.joined_at,
                "rule_version": a.rule_version,
                "why": _node(a.why),
            }
            for a in result.audiences
        ],
        "history": [
            {
                "audience_id": c.audience_id,
                "audience_name": c.audience.name,
                "change": c.change,
                "rule_version": c.rule_version,
                "reason": c.reason,
                "at": c.at,
            }
            for c in result.history
        ],
    }


@router.get("/{audience_id}", response=AudienceOut, summary="Read an audience")
def get_audience(request: HttpRequest, audience_id: int) -> Audience:
    viewer = _viewer(request, READERS)
    return selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id)


@router.patch("/{audience_id}", response=AudienceOut, summary="Change an audience")
def update_audience(request: HttpRequest, audience_id: int, payload: AudiencePatch) -> Audience:
    """A new rule makes a new version and applies the membership difference at once."""
    viewer = _viewer(request, ADMINS)
    audience = selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id)
    services.update_audience(actor=viewer.actor, audience=audience, **payload.model_dump())
    return selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id)


@router.delete("/{audience_id}", response={204: None}, summary="Deactivate an audience")
def delete_audience(request: HttpRequest, audience_id: int) -> HttpResponse:
    """Everyone leaves the audience; its history is kept."""
    viewer = _viewer(request, ADMINS)
    audience = selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id)
    services.deactivate_audience(actor=viewer.actor, audience=audience)
    return HttpResponse(status=204)


@router.get("/{audience_id}/members", response=MemberPageOut, summary="Members of an audience")
def members(request: HttpRequest, audience_id: int, paging: Query[Paging]) -> dict[str, Any]:
    viewer = _viewer(request, READERS)
    audience = selectors.get_audience(tenant_id=viewer.tenant_id, audience_id=audience_id)
    page = selectors.members(audience=audience, offset=paging.offset, limit=paging.limit)
    return {
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "items": [
            {"person": m.person, "joined_at": m.joined_at, "rule_version": m.rule_version}
            for m in page.items
        ],
    }
