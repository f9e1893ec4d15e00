from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def viewer(request: HttpRequest) -> dict[str, Any]:
    """The signed-in person and their roles, for navigation and role-aware templates."""
    user = getattr(request, "user", None)
    person = getattr(user, "person", None) if user is not None and user.is_authenticated else None
    if person is None:
        return {"viewer": None, "viewer_roles": frozenset()}
    from uptake.people.selectors import roles_of

    return {"viewer": person, "viewer_roles": roles_of(person=person)}
