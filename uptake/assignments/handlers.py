"""Reactions of assignments to other apps' events: one service call each."""

from __future__ import annotations

from typing import Any

from uptake.assignments import services


def reapply_path_assignments(event: Any) -> None:
    """A published path gained a step (PathStepsChanged): enrol its audiences' members."""
    services.reapply_path_assignments(tenant_id=event.tenant_id, path_id=event.path_id)


def apply_membership_change(event: Any) -> None:
    """An audience gained or lost members (AudienceMembershipChanged): enrol or withdraw."""
    services.apply_membership_change(
        tenant_id=event.tenant_id,
        audience_id=event.audience_id,
        joined=event.joined,
        left=event.left,
    )
