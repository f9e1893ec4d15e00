"""The notifications API: /api/v1/notifications: the viewer's own, and mark them read."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from uptake.identity.context import viewer_for
from uptake.notifications import selectors, services

router = Router()


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class MarkReadIn(Schema):
    ids: list[int] | None = None


class MarkReadOut(Schema):
    marked: int
    unread: int


@router.get("", response=list[NotificationOut])
@paginate(LimitOffsetPagination)
def list_notifications(request: HttpRequest, unread: bool = False) -> Any:
    """The viewer's notifications, newest first."""
    return selectors.list_notifications(person=viewer_for(request).person, unread_only=unread)


@router.post("/read", response=MarkReadOut)
def mark_read(request: HttpRequest, payload: MarkReadIn) -> Any:
    """Mark the given notifications read (all of them when `ids` is omitted)."""
    viewer = viewer_for(request)
    marked = services.mark_read(
        actor=viewer.actor, person=viewer.person, notification_ids=payload.ids
    )
    return {"marked": marked, "unread": selectors.unread_count(person=viewer.person)}
