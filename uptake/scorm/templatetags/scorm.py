"""Template tags that put SCORM into the catalogue's and the player's screens, so those apps
need not know SCORM's tables: `{% scorm_authoring activity %}`, `{% scorm_player enrollment
activity %}`. Reads only (selectors); launching is the browser's call to the API."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.translation import gettext as _

from uptake.scorm import datamodel, selectors

register = template.Library()


@register.inclusion_tag("scorm/_authoring.html", takes_context=True)
def scorm_authoring(context: Any, activity: Any) -> dict[str, Any]:
    request = context["request"]
    package = selectors.package_for(activity=activity)
    problems = request.session.pop("scorm_upload_problems", None)
    if problems and problems.get("activity") != activity.pk:
        problems = None
    return {
        "activity": activity,
        "package": package,
        "items": selectors.items_of(package=package) if package else [],
        "problems": problems,
        "csrf_token": get_token(request),
    }


def _with_item(url: str, item: Any) -> str:
    return f"{url}?item={item.pk}" if item is not None else url


def player_context(
    request: Any,
    view: selectors.Player | None,
    *,
    page_url: str,
    exit_url: str,
    launch_url: str = "",
    commit_url: str = "",
    preview: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What scorm/_player.html needs: the contents with their links (`page_url?item=`), the
    flow and choice targets, the element table, and where the script launches and commits (or,
    for an author's preview, the values to start from: nothing is sent or stored)."""
    if view is None or view.current is None:
        return {"player": None}
    nav = {
        "next": _with_item(page_url, view.next) if view.next else None,
        "previous": _with_item(page_url, view.previous) if view.previous else None,
        "exit": exit_url,
        "choice": {
            row.item.identifier: _with_item(page_url, row.item)
            for row in view.rows
            if row.item.href
        },
    }
    return {
        "player": view,
        "rows": [
            {"row": row, "url": _with_item(page_url, row.item)}
            for row in view.rows
            if row.item.visible
        ],
        "next_url": nav["next"],
        "previous_url": nav["previous"],
        "nav_json": json.dumps(nav),
        "table": datamodel.element_table(view.package.version),
        "launch_url": launch_url,
        "commit_url": commit_url,
        "preview_json": json.dumps(preview) if preview is not None else "",
        "csrf_token": get_token(request),
        "messages_json": json.dumps(_messages()),
    }


def _item_id(request: Any) -> int | None:
    raw = request.GET.get("item", "")
    return int(raw) if raw.isdigit() else None


@register.inclusion_tag("scorm/_player.html", takes_context=True)
def scorm_player(context: Any, enrollment: Any, activity: Any) -> dict[str, Any]:
    request = context["request"]
    view = selectors.player(enrollment=enrollment, activity=activity, item_id=_item_id(request))
    base = f"/api/v1/scorm/enrollments/{enrollment.pk}/items/"
    current = view.current.pk if view is not None and view.current is not None else 0
    return player_context(
        request,
        view,
        page_url=reverse("web:activity", args=[enrollment.pk, activity.pk]),
        exit_url=reverse("web:course", args=[enrollment.course_id]),
        launch_url=f"{base}{current}/launch",
        commit_url=f"{base}{current}/commit",
    )


def _messages() -> dict[str, str]:
    """What the player script says, in the viewer's language ("{n}": a number or a reason)."""
    return {
        "saved": _("Your progress is saved: you can come back and continue where you left off."),
        "part_done": _("This part is complete. Course progress: {n}%."),
        "activity_completed": _("Activity completed. Course progress: {n}%."),
        "course_completed": _("Activity completed. Course completed — 100%."),
        "percent": _("{n}% complete"),
        "not_saved": _("Your progress could not be saved. {n}"),
        "unreachable": _("Your progress could not be saved: the server could not be reached."),
        "not_started": _("This content could not be started. {n}"),
    }
