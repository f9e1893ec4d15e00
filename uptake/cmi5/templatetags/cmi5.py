"""Template tags that put cmi5 into the catalogue's and the player's screens, so those apps
need not know cmi5's tables: `{% cmi5_import course %}`, `{% cmi5_player enrollment activity %}`.
Reads only (selectors); launching is a form POST to /cmi5/launch/."""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token

from uptake.cmi5 import selectors

register = template.Library()


@register.inclusion_tag("cmi5/_import.html", takes_context=True)
def cmi5_import(context: Any, course: Any) -> dict[str, Any]:
    request = context["request"]
    problems = request.session.pop("cmi5_import_problems", None)
    if problems and problems.get("course") != course.pk:
        problems = None
    return {
        "course": course,
        "structures": selectors.structures_of(course=course),
        "problems": problems,
        "csrf_token": get_token(request),
    }


@register.inclusion_tag("cmi5/_player.html", takes_context=True)
def cmi5_player(context: Any, enrollment: Any, activity: Any) -> dict[str, Any]:
    request = context["request"]
    view = selectors.player(enrollment=enrollment, activity=activity)
    return {
        "player": view,
        "enrollment": enrollment,
        "activity": activity,
        "framed": view is not None and view.au.launch_method == "AnyWindow",
        "csrf_token": get_token(request),
    }
