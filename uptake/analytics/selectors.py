"""Reads of the event fact table: tenant-scoped, index-backed."""

from __future__ import annotations

import datetime as dt

from uptake.analytics.models import LearningEvent


def has_event_since(*, tenant_id: int, person_id: int, verb: str, since: dt.datetime) -> bool:
    """Whether the person has an event of `verb` at or after `since` (one indexed EXISTS)."""
    return LearningEvent.objects.filter(
        tenant_id=tenant_id, person_id=person_id, verb=verb, occurred_at__gte=since
    ).exists()
