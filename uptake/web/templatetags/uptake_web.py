"""Template helpers of the web app: safe links to other apps and the current nav item."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def url_if_exists(name: str, *args: Any) -> str:
    """The URL named `name`, or "" when no such URL is registered (yet).

    The nav links to every app's screens; a page must still render while one of them is not
    wired, so templates test the result before drawing the link.
    """
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def nav_current(context: template.Context, *names: str) -> SafeString | str:
    """` aria-current="page"` when the request resolved to one of the namespaced `names`.

    The leading space lets templates write it straight after the previous attribute.

    A name ending in ":*" matches a whole namespace (e.g. "people:*").
    """
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    current = match.view_name
    for name in names:
        if name == current or (name.endswith(":*") and match.namespace == name[:-2]):
            return mark_safe(' aria-current="page"')  # a constant, no user input
    return ""
