"""Background entry points of the record store: one call each, idempotent."""

from __future__ import annotations

from django_tasks import task

from uptake.xapi import forwarding


@task()
def forward_learning_events() -> int:
    """Queue new learning events for the organisations that forward them to an LRS."""
    return forwarding.forward_learning_events()
