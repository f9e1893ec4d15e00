"""Pure rules about people and roles (no ORM, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

MANAGER = "manager"
LEARNER = "learner"
PLATFORM_ADMIN = "platform_admin"
CONTENT_OWNER = "content_owner"
DATA_STEWARD = "data_steward"
BUSINESS_SPONSOR = "business_sponsor"

GRANTABLE_ROLES = (PLATFORM_ADMIN, CONTENT_OWNER, DATA_STEWARD, BUSINESS_SPONSOR)


def effective_roles(*, granted: Iterable[str], has_reports: bool) -> frozenset[str]:
    """Everyone is a learner; anyone with reports is a manager; the rest are granted."""
    roles = {LEARNER, *granted}
    if has_reports:
        roles.add(MANAGER)
    return frozenset(roles)
