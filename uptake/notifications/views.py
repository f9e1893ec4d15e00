"""The notification list: the viewer's own, newest first; mark them read."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from uptake.identity.context import Viewer
from uptake.identity.decorators import viewer_required
from uptake.notifications import selectors, services

PAGE_SIZE = 30


def _viewer(request: HttpRequest) -> Viewer:
    viewer: Viewer = request.viewer  # type: ignore[attr-defined]
    return viewer


@viewer_required()
def notification_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    page = Paginator(selectors.list_notifications(person=viewer.person), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/list.html",
        {"page": page, "unread": selectors.unread_count(person=viewer.person)},
    )


@require_POST
@viewer_required()
def mark_read(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
    services.mark_read(actor=viewer.actor, person=viewer.person, notification_ids=ids or None)
    return redirect("notifications:list")


@viewer_required()
def badge(request: HttpRequest) -> HttpResponse:
    """htmx fragment for the nav: the unread count (loaded after the page)."""
    viewer = _viewer(request)
    return render(
        request,
        "notifications/_badge.html",
        {"unread_count": selectors.unread_count(person=viewer.person)},
    )
