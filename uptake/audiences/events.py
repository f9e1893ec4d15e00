"""Events the audiences app publishes (frozen, past tense)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudienceMembershipChanged:
    """People joined and/or left one audience in one operation (one event per audience).

    `reason` is a MembershipChange.Reason value: "hr_change", "rule_edit", "created",
    "deactivated" or "recompute". `joined` and `left` are person ids, sorted, never both empty.
    """

    tenant_id: int
    audience_id: int
    rule_version: int
    joined: tuple[int, ...]
    left: tuple[int, ...]
    reason: str
