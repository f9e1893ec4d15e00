"""The viewer: who is asking (person, tenant, roles), resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from uptake.core.actor import Actor
from uptake.core.errors import PermissionDenied
from uptake.people.models import Person
from uptake.people.selectors import roles_of


@dataclass(frozen=True)
class Viewer:
    person: Person
    roles: frozenset[str]

    @property
    def tenant_id(self) -> int:
        return self.person.tenant_id

    @property
    def tenant(self):  # type: ignore[no-untyped-def]
        return self.person.tenant

    @property
    def actor(self) -> Actor:
        return Actor.person(self.person.pk, label=self.person.full_name)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def require(self, *roles: str) -> None:
        """Raise PermissionDenied unless the viewer holds one of `roles`."""
        if not self.has(*roles):
            names = ", ".join(r.replace("_", " ") for r in roles)
            raise PermissionDenied(f"This needs one of these roles: {names}.")


def viewer_for(request: HttpRequest) -> Viewer:
    """The viewer of an authenticated request (API token or session)."""
    user = getattr(request, "auth", None) or request.user
    person = getattr(user, "person", None) if user is not None and user.is_authenticated else None
    if person is None or not person.is_active:
        raise PermissionDenied("Your login is not linked to an active person in an organisation.")
    return Viewer(person=person, roles=roles_of(person=person))
