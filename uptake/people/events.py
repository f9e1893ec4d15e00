"""Events the people app publishes (frozen, past tense)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PersonCreated:
    tenant_id: int
    person_id: int
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonChanged:
    """An HR change: `changes` maps attribute name -> (old, new), JSON-friendly values."""

    tenant_id: int
    person_id: int
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonDeactivated:
    tenant_id: int
    person_id: int


@dataclass(frozen=True)
class PeopleImported:
    """One HR import applied. `person_ids`: everyone created, changed or deactivated, and the
    former managers of people whose manager changed (an import publishes no per-person
    events)."""

    tenant_id: int
    created: int
    updated: int
    deactivated: int
    unchanged: int
    person_ids: tuple[int, ...] = ()
