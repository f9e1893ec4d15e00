"""The domain event bus: events are published on commit to the handlers listed in uptake/events.py.

`publish(event)` inside a transaction queues the event; the handlers run after the outermost
transaction commits (never for a rolled-back change). Handlers run in-process, synchronously,
in the order listed; a handler that has slow or external work enqueues a background task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[[Any], None]


def _subscriptions() -> dict[type, list[Handler]]:
    from uptake.events import SUBSCRIPTIONS

    return SUBSCRIPTIONS


def dispatch(event: object) -> None:
    """Run every handler subscribed to the event's type, now."""
    for handler in _subscriptions().get(type(event), []):
        handler(event)


def publish(event: object) -> None:
    """Publish a domain event once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: dispatch(event), robust=False)
