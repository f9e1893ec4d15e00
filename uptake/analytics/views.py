"""Analytics screens: the adoption dashboard (organisation, or a manager's whole team), the
people behind a number with "remind these", pilot comparison, a check's hardest questions,
and the download of every table as CSV or Parquet."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from uptake.analytics import access, charts, exports, reports, rules, selectors, services
from uptake.analytics.selectors import Scope
from uptake.core import clock
from uptake.core.errors import DomainError, NotFound, ValidationFailed
from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required

SCOPE_FIELDS = (
    "manager_id",
    "audience_id",
    "department",
    "location",
    "hire_month",
    "course_id",
    "path_id",
)
_INT_FIELDS = {"manager_id", "audience_id", "course_id", "path_id"}


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


def _scope_args(data: Any, prefix: str = "") -> dict[str, Any]:
    """Scope filters from a query string or form; a malformed id is a clear ValidationFailed."""
    out: dict[str, Any] = {}
    for name in SCOPE_FIELDS:
        raw = (data.get(prefix + name) or "").strip()
        if not raw:
            continue
        if name in _INT_FIELDS:
            if not raw.isdigit():
                raise ValidationFailed(_("%(name)s must be a number.") % {"name": name})
            out[name] = int(raw)
        else:
            out[name] = raw
    return out


def _scope(request: HttpRequest, data: Any | None = None, prefix: str = "") -> Scope:
    return access.scope_for(
        viewer=_viewer(request), **_scope_args(request.GET if data is None else data, prefix)
    )


def _query(scope: Scope, **extra: Any) -> str:
    return urlencode({**scope.as_params(), **{k: v for k, v in extra.items() if v}})


def _series(table: reports.Table, key: str) -> list[Any]:
    index = [c.key for c in table.columns].index(key)
    return [row[index] for row in table.rows]


# The charts the manager's page shows before "Show every chart" (the rest on demand).
TEAM_FIRST_BLOCKS = frozenset({"trend", "funnel"})
TEAM_OVERDUE_ROWS = 20  # overdue assignments listed on the manager's page


def _dashboard_context(
    scope: Scope,
    *,
    breakdown_by: str,
    heat_by: str = "department",
    blocks: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The dashboard's figures and charts; `blocks`: only these chart blocks (by table name;
    None: all), the others are neither read nor drawn."""
    now = clock.now()
    # One read of the assignment cells (when the scope uses them) for the key figures, the
    # funnel, the weekly trend and a breakdown by course or path (ADR 0014).
    grid = selectors.cell_grid(scope=scope, now=now) if selectors.uses_cells(scope) else None
    counts = (
        selectors.total(grid)
        if grid is not None
        else selectors.assignment_counts(scope=scope, now=now)
    )
    kpis = reports.kpis(scope=scope, now=now, counts=counts)
    trend = reports.trend(scope=scope, now=now, grid=grid)
    weeks = [w.strftime("%d %b") for w in _series(trend, "week")]
    funnel = reports.funnel(scope=scope, now=now, counts=counts)
    query = _query(scope)
    every = blocks is None
    context: dict[str, Any] = {
        "still_counting": selectors.still_counting(tenant_id=scope.tenant_id),
        "scope": scope,
        "query": query,
        "kpis": kpis,
        "kpi_cards": _kpi_cards(kpis, trend),
        "count_cards": _count_cards(kpis),
        "checks": reports.checks(scope=scope) if every else None,
        "breakdown_by": breakdown_by,
        "dimensions": reports.DIMENSION_LABELS(),
        "drill_labels": reports.DRILL_LABELS(),
        "all_blocks": every,
    }
    wanted = (
        blocks
        if blocks is not None
        else frozenset({"trend", "funnel", "heatmap", "retention", "daily_active", "breakdown"})
    )
    out = []
    if "trend" in wanted:
        out.append(
            {
                "table": trend,
                "chart": charts.line_chart(
                    title=trend.title,
                    x_labels=weeks,
                    series=[
                        (_("Activation"), _series(trend, "activation")),
                        (_("Completion"), _series(trend, "completion")),
                    ],
                    percent=True,
                ),
                "note": _("Activation and completion of the assignments made each week."),
            }
        )
    if "funnel" in wanted:
        out.append(
            {"table": funnel, "chart": charts.funnel_chart(title=funnel.title, stages=funnel.rows)}
        )
    if "heatmap" in wanted:
        out.append(_heat_block(reports.heatmap(scope=scope, rows_by=heat_by, now=now), heat_by))
    if "retention" in wanted:
        out.append(_retention_block(reports.retention(scope=scope, cohort="assigned", now=now)))
    if "daily_active" in wanted:
        daily = reports.daily_active(scope=scope, now=now)
        out.append(
            {
                "table": daily,
                "chart": charts.line_chart(
                    title=daily.title,
                    x_labels=[d.strftime("%d %b") for d in _series(daily, "day")],
                    series=[(_("Active"), _series(daily, "people"))],
                ),
            }
        )
    if "breakdown" in wanted:
        breakdown = reports.breakdown(scope=scope, by=breakdown_by, now=now, grid=grid)
        out.append(
            {
                "table": breakdown,
                "chart": charts.bar_chart(
                    title=breakdown.title,
                    items=[(str(r[1]), r[7]) for r in breakdown.rows[:20]],
                    percent=True,
                ),
                "note": _("Completion by %(dimension)s (the 20 largest).")
                % {"dimension": reports.DIMENSION_LABELS()[breakdown_by]},
            }
        )
    context["blocks"] = out
    return context


def _heat_block(heat: reports.Table, heat_by: str) -> dict[str, Any]:
    heat_teams = list(dict.fromkeys(row[0] for row in heat.rows))
    heat_weeks = list(dict.fromkeys(row[1] for row in heat.rows))
    shares = {(row[0], row[1]): row[3] for row in heat.rows}
    return {
        "table": heat,
        "chart": charts.heatmap_chart(
            title=heat.title,
            row_labels=[str(t) for t in heat_teams],
            col_labels=[w.strftime("%d %b") for w in heat_weeks],
            values=[[shares.get((t, w)) for w in heat_weeks] for t in heat_teams],
        ),
        "note": (
            _("Teams are departments.")
            if heat_by == "department"
            else _("Teams are the people reporting to each manager.")
        )
        + " "
        + _("Darker cells and higher percentages mean more of the team was active that week."),
    }


def _retention_block(retention: reports.Table) -> dict[str, Any]:
    recent = [r for r in retention.rows if r[0] is not None][-6:]
    overall = [r for r in retention.rows if r[0] is None]
    week_count = rules.RETENTION_WEEKS + 1
    return {
        "table": retention,
        "chart": charts.line_chart(
            title=retention.title,
            x_labels=[str(k) for k in range(week_count)],
            series=[(r[0].strftime("%d %b"), list(r[2:])) for r in recent]
            + [(_("All"), list(overall[0][2:])) for _o in overall[:1]],
            percent=True,
        ),
        "note": _(
            "Each line is the people first assigned in one week (named at its end): the "
            "share of them active 0, 1, 2... weeks later."
        ),
    }


def _kpi_cards(kpis: reports.Table, trend: reports.Table) -> list[dict[str, Any]]:
    values = {row[0]: row[2] for row in kpis.rows}
    cards = [
        ("activation", "not_activated", _("who did not start in time?")),
        ("completion", "not_completed", _("who has not completed?")),
        ("on_time_completion", None, ""),
        ("compliance", "overdue", _("who is overdue?")),
        ("retention_day_7", None, ""),
        ("retention_day_30", None, ""),
        ("pass_rate", None, ""),
        ("stickiness", None, ""),
    ]
    sparks = {
        "activation": _series(trend, "activation"),
        "completion": _series(trend, "completion"),
    }
    return [
        {
            "label": next(r[1] for r in kpis.rows if r[0] == key),
            "value": values.get(key),
            "drill": drill,
            "drill_label": drill_label,
            "spark": charts.sparkline(sparks[key], label=_("Trend over 12 weeks"))
            if key in sparks
            else "",
        }
        for key, drill, drill_label in cards
    ]


def _count_cards(kpis: reports.Table) -> list[dict[str, Any]]:
    values = {row[0]: row[2] for row in kpis.rows}
    count_cards = [
        ("assigned", "assigned"),
        ("started", "started"),
        ("completed", "completed"),
        ("overdue", "overdue"),
        ("wau", None),
        ("mau", None),
        ("median_days_to_complete", None),
    ]
    return [
        {
            "label": next(r[1] for r in kpis.rows if r[0] == key),
            "value": values.get(key),
            "drill": drill,
        }
        for key, drill in count_cards
    ]


def _breakdown_by(request: HttpRequest) -> str:
    by = request.GET.get("by") or "department"
    return by if by in selectors.BREAKDOWNS else "department"


@viewer_required(*access.ANALYSTS)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The adoption dashboard for the organisation (or the part chosen with the filters)."""
    from uptake.audiences.models import Audience
    from uptake.people.selectors import distinct_values

    viewer = _viewer(request)
    scope = _scope(request)
    context = _dashboard_context(scope, breakdown_by=_breakdown_by(request))
    context.update(
        {
            "title": _("Adoption dashboard"),
            "is_team": False,
            "departments": distinct_values(tenant_id=viewer.tenant_id, attribute="department"),
            "locations": distinct_values(tenant_id=viewer.tenant_id, attribute="location"),
            "audiences": Audience.objects.filter(tenant_id=viewer.tenant_id, is_active=True)
            .order_by("name")
            .values_list("pk", "name"),
            "filters": scope.as_params(),
        }
    )
    return render(request, "analytics/dashboard.html", context)


@viewer_required("manager")
def team_dashboard(request: HttpRequest) -> HttpResponse:
    """A manager's dashboard: their whole team's numbers, each person's status, what is
    overdue."""
    viewer = _viewer(request)
    scope = access.scope_for(viewer=viewer, manager_id=viewer.person.pk)
    every = request.GET.get("charts") == "all"
    context = _dashboard_context(
        scope,
        breakdown_by="manager",
        heat_by="manager",
        blocks=None if every else TEAM_FIRST_BLOCKS,
    )
    # The first overdue assignments; all of them on the people page (drill-down).
    overdue, total_overdue = reports.people(scope=scope, metric="overdue", limit=TEAM_OVERDUE_ROWS)
    context.update(
        {
            "title": _("My team's adoption"),
            "is_team": True,
            "team": reports.team_status(scope=scope),
            "team_too_large": scope.team is None,
            "overdue": overdue,
            "total_overdue": total_overdue,
        }
    )
    return render(request, "analytics/dashboard.html", context)


@viewer_required(*access.ANALYSTS, "manager")
def people(request: HttpRequest) -> HttpResponse:
    """The people behind a number, with "remind these"."""
    metric = request.GET.get("metric") or "not_started"
    if metric not in selectors.DRILL_METRICS:
        raise NotFound(_("There is no such list of people."))
    scope = _scope(request)
    try:
        page = max(0, int(request.GET.get("page") or 0))
    except ValueError:
        page = 0
    table, total = reports.people(scope=scope, metric=metric, limit=200, offset=page * 200)
    return render(
        request,
        "analytics/people.html",
        {
            "table": table,
            "total": total,
            "metric": metric,
            "scope": scope,
            "query": _query(scope, metric=metric),
            "export_query": _query(scope, metric=metric),
            "can_remind": metric not in ("assigned", "started", "completed"),
            "page": page,
            "next_page": page + 1 if (page + 1) * 200 < total else None,
            "back": _back_url(request, scope),
        },
    )


def _back_url(request: HttpRequest, scope: Scope) -> str:
    from django.urls import reverse

    if access.is_analyst(_viewer(request)):
        return f"{reverse('analytics:dashboard')}?{_query(scope)}"
    return reverse("analytics:team")


@require_POST
@viewer_required(*access.ANALYSTS, "manager")
def remind(request: HttpRequest) -> HttpResponse:
    """Remind everyone behind the number (notification + email through the outbox)."""
    metric = request.POST.get("metric") or ""
    scope = _scope(request, request.POST)
    try:
        count = services.remind(
            actor=_viewer(request).actor,
            scope=scope,
            metric=metric,
            message=request.POST.get("message") or "",
        )
    except ValidationFailed as error:
        messages.error(request, error.detail)
    else:
        if count:
            messages.success(
                request,
                _("Reminded %(count)d people by notification and email.") % {"count": count},
            )
        else:
            messages.info(request, _("Everyone on this list was already reminded today."))
    from django.urls import reverse

    return redirect(f"{reverse('analytics:people')}?{_query(scope, metric=metric)}")


@viewer_required(*access.ANALYSTS)
def compare(request: HttpRequest) -> HttpResponse:
    """Pilot comparison of two groups: every KPI, the difference and its 95% interval."""
    from uptake.audiences.models import Audience
    from uptake.people.selectors import distinct_values

    viewer = _viewer(request)
    table = None
    chart = None
    a_args = _scope_args(request.GET, "a_")
    b_args = _scope_args(request.GET, "b_")
    if a_args or b_args:
        a = access.scope_for(viewer=viewer, **a_args)
        b = access.scope_for(viewer=viewer, **b_args)
        table = reports.compare(a=a, b=b)
        chart = charts.bar_chart(
            title=_("Group A and group B"),
            items=[
                item
                for row in table.rows
                if row[0] != "mean_days_to_complete"
                for item in ((f"{row[1]} (A)", row[2]), (f"{row[1]} (B)", row[3]))
            ],
            percent=True,
        )
    return render(
        request,
        "analytics/compare.html",
        {
            "table": table,
            "chart": chart,
            "export_query": request.GET.urlencode(),
            "audiences": Audience.objects.filter(tenant_id=viewer.tenant_id, is_active=True)
            .order_by("name")
            .values_list("pk", "name"),
            "departments": distinct_values(tenant_id=viewer.tenant_id, attribute="department"),
            "a": a_args,
            "b": b_args,
        },
    )


@viewer_required(*access.ANALYSTS, "manager")
def questions(request: HttpRequest, activity_id: int) -> HttpResponse:
    from uptake.catalog.models import Activity

    viewer = _viewer(request)
    access.scope_for(viewer=viewer)
    activity = Activity.objects.filter(tenant_id=viewer.tenant_id, pk=activity_id).first()
    if activity is None:
        raise NotFound(_("There is no such knowledge check."))
    table = reports.questions(tenant_id=viewer.tenant_id, activity_id=activity_id)
    return render(
        request,
        "analytics/questions.html",
        {"table": table, "activity": activity, "export_query": None},
    )


def export_table(request: HttpRequest, name: str) -> reports.Table:
    """The table `name` (as shown on a screen) for the scope in the query string."""
    viewer = _viewer(request)
    if name == "compare":
        return reports.compare(
            a=access.scope_for(viewer=viewer, **_scope_args(request.GET, "a_")),
            b=access.scope_for(viewer=viewer, **_scope_args(request.GET, "b_")),
        )
    if name == "team":
        if "manager" not in viewer.roles:
            raise NotFound(_("There is no such table."))
        return reports.team_status(
            scope=access.scope_for(viewer=viewer, manager_id=viewer.person.pk)
        )
    scope = _scope(request)
    simple = {
        "kpis": reports.kpis,
        "funnel": reports.funnel,
        "trend": reports.trend,
        "daily_active": reports.daily_active,
        "heatmap": reports.heatmap,
        "checks": reports.checks,
    }
    if name in simple:
        return simple[name](scope=scope)  # type: ignore[operator]
    if name == "retention":
        return reports.retention(scope=scope, cohort="assigned")
    if name.startswith("breakdown_") and name[10:] in selectors.BREAKDOWNS:
        return reports.breakdown(scope=scope, by=name[10:])
    if name.startswith("people_") and name[7:] in selectors.DRILL_METRICS:
        table, _total = reports.people(scope=scope, metric=name[7:], limit=1_000_000)
        return table
    raise NotFound(_("There is no such table."))


@viewer_required(*access.ANALYSTS, "manager")
def export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """Download a table as CSV or Parquet."""
    if fmt not in exports.FORMATS:
        raise NotFound(_("Tables download as CSV or Parquet."))
    table = export_table(request, name)
    response = HttpResponse(exports.render(table, fmt), content_type=exports.FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{table.name}.{fmt}"'
    return response


__all__ = ["DomainError"]
