"""Domain errors: raised next to their cause, mapped once to problem+json (API) or a message (UI).

Each error carries a stable `code` (the problem type), an HTTP `status`, a human `detail`, and
optional `errors`: a list of precise field/row problems (e.g. one per bad CSV cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FieldProblem:
    """One precise problem: where (row, column/field) and what is wrong."""

    message: str
    field: str | None = None
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.row is not None:
            out["row"] = self.row
        return out


class DomainError(Exception):
    status: int = 400
    code: str = "invalid"
    title: str = "The request could not be carried out"

    def __init__(self, detail: str, *, errors: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class ValidationFailed(DomainError):
    status = 400
    code = "validation-failed"
    title = "Some input is not valid"


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    title = "You are not allowed to do this"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "This conflicts with the current state"
