"""Who is making a change. Every service takes `actor=` so every change has an author."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The author of a change: a person (through the UI or an API token) or the system."""

    kind: str  # "person" | "system"
    person_id: int | None = None
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label)

    @classmethod
    def person(cls, person_id: int, label: str = "") -> Actor:
        return cls(kind="person", person_id=person_id, label=label)

    @property
    def is_system(self) -> bool:
        return self.kind == "system"
