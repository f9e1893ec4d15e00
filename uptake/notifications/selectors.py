"""Reads of notifications: the person's own, newest first."""

from __future__ import annotations

from django.db.models import QuerySet

from uptake.notifications.models import Notification
from uptake.people.models import Person


def unread_count(*, person: Person) -> int:
    return Notification.objects.filter(
        tenant_id=person.tenant_id, person=person, read_at__isnull=True
    ).count()


def list_notifications(*, person: Person, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(tenant_id=person.tenant_id, person=person)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")
