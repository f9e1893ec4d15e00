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


def _activity_url(enrollment: Any, activity: Any, item: Any) -> str:
    url = reverse("web:activity", args=[enrollment.pk, activity.pk])
    return f"{url}?item={item.pk}" if item is not None else url


@register.inclusion_tag("scorm/_player.html", takes_context=True)
def scorm_player(context: Any, enrollment: Any, activity: Any) -> dict[str, Any]:
    request = context["request"]
    raw = request.GET.get("item", "")
    view = selectors.player(
        enrollment=enrollment, activity=activity, item_id=int(raw) if raw.isdigit() else None
    )
    if view is None or view.current is None:
        return {"player": None}
    nav = {
        "next": _activity_url(enrollment, activity, view.next) if view.next else None,
        "previous": _activity_url(enrollment, activity, view.previous) if view.previous else None,
        "exit": reverse("web:course", args=[enrollment.course_id]),
        "choice": {
            row.item.identifier: _activity_url(enrollment, activity, row.item)
            for row in view.rows
            if row.item.href
        },
    }
    return {
        "player": view,
        "enrollment": enrollment,
        "activity": activity,
        "rows": [
            {**{"row": row}, "url": _activity_url(enrollment, activity, row.item)}
            for row in view.rows
            if row.item.visible
        ],
        "next_url": nav["next"],
        "previous_url": nav["previous"],
        "nav_json": json.dumps(nav),
        "table": datamodel.element_table(view.package.version),
        "launch_url": f"/api/v1/scorm/enrollments/{enrollment.pk}/items/{view.current.pk}/launch",
        "commit_url": f"/api/v1/scorm/enrollments/{enrollment.pk}/items/{view.current.pk}/commit",
        "csrf_token": get_token(request),
        "messages_json": json.dumps(_messages()),
    }


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
