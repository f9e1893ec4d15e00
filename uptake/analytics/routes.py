"""The analytics API: /api/v1/analytics: KPIs, every report table (JSON, CSV or Parquet), the
people behind a number, pilot comparison, and "remind these".

Admins, data stewards and business sponsors see the organisation; managers their whole team
(the scope is narrowed to it); learners get 403.
"""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from uptake.analytics import access, exports, reports, selectors, services
from uptake.core.errors import NotFound, ValidationFailed
from uptake.identity.context import viewer_for

router = Router()

REPORTS = ("funnel", "trend", "daily_active", "heatmap", "retention", "breakdown", "checks")


class ScopeIn(Schema):
    manager_id: int | None = Field(None, description="a manager: their whole team")
    audience_id: int | None = None
    department: str | None = None
    location: str | None = None
    hire_month: str | None = Field(None, description="YYYY-MM")
    course_id: int | None = None
    path_id: int | None = None


class ReportIn(ScopeIn):
    by: Literal["course", "department", "location", "manager", "hire_month", "audience", "path"] = (
        "department"
    )
    rows_by: Literal["department", "location", "manager"] = "department"
    cohort: Literal["assigned", "active"] = "assigned"
    format: Literal["json", "csv", "parquet"] = "json"


class ColumnOut(Schema):
    key: str
    label: str
    kind: str


class TableOut(Schema):
    name: str
    title: str
    columns: list[ColumnOut]
    rows: list[list[Any]]
    total: int | None = None


class MetricOut(Schema):
    metric: str
    label: str
    value: float | None
    kind: str


class KpisOut(Schema):
    scope: dict[str, Any]
    metrics: list[MetricOut]


class RemindIn(ScopeIn):
    metric: str
    message: str = ""


class RemindOut(Schema):
    reminded: int


def _scope(request: HttpRequest, filters: ScopeIn, prefix: str = "") -> selectors.Scope:
    return access.scope_for(
        viewer=viewer_for(request),
        **{k: getattr(filters, k) for k in ScopeIn.model_fields},
    )


def _table_out(table: reports.Table, total: int | None = None) -> dict[str, Any]:
    return {
        "name": table.name,
        "title": table.title,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in table.columns],
        "rows": [[_json(v) for v in row] for row in table.rows],
        "total": total,
    }


def _json(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _file(table: reports.Table, fmt: str) -> HttpResponse:
    response = HttpResponse(exports.render(table, fmt), content_type=exports.FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{table.name}.{fmt}"'
    return response


def build_report(
    name: str, scope: selectors.Scope, *, by: str, rows_by: str, cohort: str
) -> reports.Table:
    if name == "funnel":
        return reports.funnel(scope=scope)
    if name == "trend":
        return reports.trend(scope=scope)
    if name == "daily_active":
        return reports.daily_active(scope=scope)
    if name == "heatmap":
        return reports.heatmap(scope=scope, rows_by=rows_by)
    if name == "retention":
        return reports.retention(scope=scope, cohort=cohort)
    if name == "breakdown":
        return reports.breakdown(scope=scope, by=by)
    if name == "checks":
        return reports.checks(scope=scope)
    raise NotFound(f"There is no report {name!r}; reports: {', '.join(REPORTS)}.")


@router.get("/kpis", response=KpisOut)
def kpis(request: HttpRequest, filters: Query[ScopeIn]) -> Any:
    """Every KPI of the scope (docs/metrics.md defines each one)."""
    scope = _scope(request, filters)
    table = reports.kpis(scope=scope)
    return {
        "scope": scope.as_params(),
        "metrics": [
            {"metric": m, "label": label, "value": v, "kind": kind}
            for m, label, v, kind in table.rows
        ],
    }


@router.get("/reports/{report}", response=TableOut)
def report(request: HttpRequest, report: str, filters: Query[ReportIn]) -> Any:
    """One report table: funnel, trend, daily_active, heatmap (rows_by), retention (cohort),
    breakdown (by), checks. `format=csv` or `parquet` downloads it."""
    if report not in REPORTS:
        raise NotFound(f"There is no report {report!r}; reports: {', '.join(REPORTS)}.")
    scope = _scope(request, filters)
    table = build_report(
        report, scope, by=filters.by, rows_by=filters.rows_by, cohort=filters.cohort
    )
    if filters.format != "json":
        return _file(table, filters.format)
    return _table_out(table)


class PeopleIn(ScopeIn):
    metric: str = "not_started"
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    format: Literal["json", "csv", "parquet"] = "json"


@router.get("/people", response=TableOut)
def people(request: HttpRequest, filters: Query[PeopleIn]) -> Any:
    """The assignments (person and course) behind a number: assigned, not_started, started,
    completed, not_completed, not_activated, overdue."""
    if filters.metric not in selectors.DRILL_METRICS:
        raise ValidationFailed(
            f"Unknown metric {filters.metric!r}; one of: {', '.join(selectors.DRILL_METRICS)}."
        )
    scope = _scope(request, filters)
    table, total = reports.people(
        scope=scope, metric=filters.metric, limit=filters.limit, offset=filters.offset
    )
    if filters.format != "json":
        return _file(table, filters.format)
    return _table_out(table, total)


class CompareIn(Schema):
    a_audience_id: int | None = None
    a_department: str | None = None
    a_location: str | None = None
    b_audience_id: int | None = None
    b_department: str | None = None
    b_location: str | None = None
    course_id: int | None = None
    path_id: int | None = None
    format: Literal["json", "csv", "parquet"] = "json"


@router.get("/compare", response=TableOut)
def compare(request: HttpRequest, filters: Query[CompareIn]) -> Any:
    """Pilot comparison: every KPI of group A and group B (an audience, a department or a
    location each), A - B and its 95% confidence interval."""
    viewer = viewer_for(request)
    common: dict[str, Any] = {"course_id": filters.course_id, "path_id": filters.path_id}
    a = access.scope_for(
        viewer=viewer,
        audience_id=filters.a_audience_id,
        department=filters.a_department,
        location=filters.a_location,
        **common,
    )
    b = access.scope_for(
        viewer=viewer,
        audience_id=filters.b_audience_id,
        department=filters.b_department,
        location=filters.b_location,
        **common,
    )
    table = reports.compare(a=a, b=b)
    if filters.format != "json":
        return _file(table, filters.format)
    return _table_out(table)


@router.get("/checks/{activity_id}/questions", response=TableOut)
def questions(request: HttpRequest, activity_id: int) -> Any:
    """A knowledge check's questions, hardest first (share of wrong answers)."""
    from uptake.catalog.models import Activity

    viewer = viewer_for(request)
    access.scope_for(viewer=viewer)
    if not Activity.objects.filter(tenant_id=viewer.tenant_id, pk=activity_id).exists():
        raise NotFound("There is no such knowledge check.")
    return _table_out(reports.questions(tenant_id=viewer.tenant_id, activity_id=activity_id))


@router.post("/remind", response=RemindOut)
def remind(request: HttpRequest, payload: RemindIn) -> Any:
    """Remind everyone behind a number (e.g. not_started, overdue) by notification and email;
    once per person, number and day."""
    viewer = viewer_for(request)
    scope = _scope(request, payload)
    count = services.remind(
        actor=viewer.actor, scope=scope, metric=payload.metric, message=payload.message
    )
    return {"reminded": count}
