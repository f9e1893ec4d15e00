"""People API: list and read people, create and update them, import the HR file.

Reads are for platform admins and data stewards (a manager may list their own team with
?team=1, and anyone may read themselves); writes are for platform admins. Another tenant's
ids answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from uptake.core.bulk import with_ids_in
from uptake.core.errors import PermissionDenied, ValidationFailed
from uptake.identity.context import Viewer, viewer_for
from uptake.people import rules, selectors, services
from uptake.people.models import Person

router = Router()

READERS = (rules.PLATFORM_ADMIN, rules.DATA_STEWARD)
MAX_LIMIT = 500


class PersonOut(Schema):
    id: int
    employee_id: str
    email: str
    first_name: str
    last_name: str
    full_name: str
    job_title: str
    role_family: str
    department: str
    location: str
    country: str
    time_zone: str
    language: str
    hire_date: dt.date | None
    manager_id: int | None
    manager_employee_id: str | None
    employment_type: str
    is_active: bool
    deactivated_at: dt.datetime | None
    custom: dict[str, Any]

    @staticmethod
    def resolve_manager_employee_id(obj: Person) -> str | None:
        return obj.manager.employee_id if obj.manager_id and obj.manager else None


class PersonDetailOut(PersonOut):
    roles: list[str]


class PersonPage(Schema):
    total: int
    limit: int
    offset: int
    items: list[PersonOut]


class PersonIn(Schema):
    employee_id: str
    email: str
    first_name: str = ""
    last_name: str
    job_title: str = ""
    role_family: str = ""
    department: str = ""
    location: str = ""
    country: str = ""
    time_zone: str = "UTC"
    language: str = "en"
    hire_date: dt.date | None = None
    manager_id: int | None = None
    employment_type: str = ""
    is_active: bool = True
    custom: dict[str, Any] = Field(default_factory=dict)


class PersonPatch(Schema):
    employee_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    role_family: str | None = None
    department: str | None = None
    location: str | None = None
    country: str | None = None
    time_zone: str | None = None
    language: str | None = None
    hire_date: dt.date | None = None
    manager_id: int | None = None
    employment_type: str | None = None
    is_active: bool | None = None
    custom: dict[str, Any] | None = None


class PersonFilters(Schema):
    q: str = ""
    department: str = ""
    location: str = ""
    country: str = ""
    role_family: str = ""
    employment_type: str = ""
    manager_id: int | None = None
    is_active: bool | None = None
    team: bool = False
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


class ChangeOut(Schema):
    employee_id: str
    name: str
    changes: dict[str, list[Any]]


class ImportReportOut(Schema):
    dry_run: bool
    created: int
    updated: int
    deactivated: int
    unchanged: int
    created_ids: list[str]
    updated_ids: list[str]
    deactivated_ids: list[str]
    moved_ids: list[str]
    changes: list[ChangeOut]


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, Any]] = Field(default_factory=list)


def _detail(person: Person) -> Person:
    """The person with their granted roles attached, for PersonDetailOut."""
    person.roles = selectors.granted_roles(person=person)  # type: ignore[attr-defined]
    return person


def _readable(viewer: Viewer, person: Person) -> bool:
    return (
        viewer.has(*READERS)
        or person.pk == viewer.person.pk
        or selectors.is_in_team(manager=viewer.person, person=person)
    )


@router.get("", response=PersonPage, summary="List people")
def list_people(request: HttpRequest, filters: Query[PersonFilters]) -> dict[str, Any]:
    """People of your organisation, filtered; `custom.<name>=value` filters a custom attribute.

    Platform admins and data stewards see everyone; a manager lists their team with `team=1`.
    """
    viewer = viewer_for(request)
    values = filters.model_dump(exclude={"q", "team", "limit", "offset"})
    values.update({k: v for k, v in request.GET.items() if k.startswith(rules.CUSTOM_PREFIX)})
    qs = selectors.search_people(tenant_id=viewer.tenant_id, q=filters.q, filters=values)
    if filters.team:
        if rules.MANAGER not in viewer.roles:
            raise PermissionDenied("Only managers have a team to list.")
        team = selectors.team_member_ids(manager=viewer.person, include_indirect=True)
        qs = with_ids_in(qs, "pk", team)
    else:
        viewer.require(*READERS)
    total = qs.count()
    items = list(qs[filters.offset : filters.offset + filters.limit])
    return {"total": total, "limit": filters.limit, "offset": filters.offset, "items": items}


def report_out(report: services.ImportReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "created": report.created,
        "updated": report.updated,
        "deactivated": report.deactivated,
        "unchanged": report.unchanged,
        "created_ids": report.created_ids,
        "updated_ids": report.updated_ids,
        "deactivated_ids": report.deactivated_ids,
        "moved_ids": report.moved_ids,
        "changes": [
            {
                "employee_id": eid,
                "name": report.names.get(eid, ""),
                "changes": {k: list(v) for k, v in changes.items()},
            }
            for eid, changes in report.changes.items()
        ],
    }


@router.post(
    "/import",
    response={200: ImportReportOut, 400: ProblemOut},
    summary="Import the HR file (CSV)",
)
def import_people(
    request: HttpRequest,
    dry_run: bool = False,
    deactivate_missing: bool = False,
    file: UploadedFile | None = File(None),  # noqa: B008 - ninja's way of declaring a file
) -> dict[str, Any]:
    """Send the CSV as the multipart field `file` or as a `text/csv` body. All or nothing: any
    bad row answers 400 problem+json with one error per bad cell ({row, field, message}) and
    nothing changes. `dry_run=true` previews; `deactivate_missing=true` treats the file as a
    full snapshot (active people missing from it become leavers)."""
    viewer = viewer_for(request)
    viewer.require(rules.PLATFORM_ADMIN)
    if file is not None:
        if file.size and file.size > services.MAX_IMPORT_BYTES:
            raise ValidationFailed("The file is larger than 20 MB.")
        data = file.read()
    elif request.content_type in ("text/csv", "text/plain"):
        data = request.body
    else:
        raise ValidationFailed("Send the CSV as the multipart field 'file' or as a text/csv body.")
    report = services.import_people_csv(
        actor=viewer.actor,
        tenant_id=viewer.tenant_id,
        data=data,
        dry_run=dry_run,
        deactivate_missing=deactivate_missing,
    )
    return report_out(report)


# Declared after /import so that "import" is never taken for a person id.
@router.get("/{person_id}", response=PersonDetailOut, summary="Read a person")
def get_person(request: HttpRequest, person_id: int) -> Person:
    viewer = viewer_for(request)
    person = selectors.get_person(tenant_id=viewer.tenant_id, person_id=person_id)
    if not _readable(viewer, person):
        raise PermissionDenied("You may read only yourself and your team.")
    return _detail(person)


@router.post("", response={201: PersonDetailOut}, summary="Create a person")
def create_person(request: HttpRequest, payload: PersonIn) -> tuple[int, Person]:
    viewer = viewer_for(request)
    viewer.require(rules.PLATFORM_ADMIN)
    person = services.create_person(
        actor=viewer.actor, tenant_id=viewer.tenant_id, **payload.model_dump()
    )
    return 201, _detail(selectors.get_person(tenant_id=viewer.tenant_id, person_id=person.pk))


@router.patch("/{person_id}", response=PersonDetailOut, summary="Change a person")
def update_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> Person:
    """Only the attributes sent change; `manager_id: null` removes the manager."""
    viewer = viewer_for(request)
    person = selectors.get_person(tenant_id=viewer.tenant_id, person_id=person_id)
    viewer.require(rules.PLATFORM_ADMIN)
    services.update_person(
        actor=viewer.actor, person=person, **payload.model_dump(exclude_unset=True)
    )
    return _detail(selectors.get_person(tenant_id=viewer.tenant_id, person_id=person_id))
