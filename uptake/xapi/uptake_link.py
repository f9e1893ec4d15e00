"""Statements about Uptake activities feed progress (placeholder, filled in below)."""

from __future__ import annotations

from typing import Any

from uptake.core.actor import Actor


def apply(*, actor: Actor, tenant_id: int, statements: list[dict[str, Any]]) -> None:
    return None
