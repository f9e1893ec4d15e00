"""Reads about people: always tenant-scoped, N+1-safe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet

from uptake.core.bulk import chunks, with_ids_in
from uptake.core.errors import FieldProblem, NotFound, ValidationFailed
from uptake.people import rules
from uptake.people.models import Person, PersonRole

# Filters accepted by search_people besides custom.<key>.
FILTERS = (
    "department",
    "location",
    "country",
    "role_family",
    "employment_type",
    "manager_id",
    "is_active",
)
# Attributes offered as filter drop-downs.
FACETS = ("department", "location", "country", "role_family", "employment_type")
_SEARCHED = ("first_name", "last_name", "email", "employee_id", "job_title")


def roles_of(*, person: Person) -> frozenset[str]:
    """The person's effective roles (cached on the instance for the request)."""
    cached: frozenset[str] | None = getattr(person, "_uptake_roles", None)
    if cached is not None:
        return cached
    granted = PersonRole.objects.filter(tenant_id=person.tenant_id, person=person).values_list(
        "role", flat=True
    )
    has_reports = Person.objects.filter(
        tenant_id=person.tenant_id, manager=person, is_active=True
    ).exists()
    roles = rules.effective_roles(granted=list(granted), has_reports=has_reports)
    person._uptake_roles = roles  # type: ignore[attr-defined]
    return roles


def granted_roles(*, person: Person) -> list[str]:
    """The roles granted to the person (not the derived ones), in a stable order."""
    granted = set(
        PersonRole.objects.filter(tenant_id=person.tenant_id, person=person).values_list(
            "role", flat=True
        )
    )
    return [r for r in rules.GRANTABLE_ROLES if r in granted]


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    try:
        return rules.clean_active(value)
    except rules.CellError as exc:
        raise ValidationFailed(
            f"is_active: {exc}", errors=[FieldProblem(str(exc), "is_active")]
        ) from None


def search_people(
    *, tenant_id: int, q: str = "", filters: Mapping[str, Any] | None = None
) -> QuerySet[Person]:
    """People of the tenant matching every word of `q` (in a name, email, employee id or job
    title) and every filter (exact values; `custom.<key>` filters a custom attribute).

    Blank filter values are ignored; an unknown filter raises ValidationFailed.
    Ordered by last name, first name; the manager is fetched in the same query.
    """
    qs = Person.objects.filter(tenant_id=tenant_id).select_related("manager")
    for word in q.split():
        match = Q()
        for name in _SEARCHED:
            match |= Q(**{f"{name}__icontains": word})
        qs = qs.filter(match)
    for name, value in (filters or {}).items():
        if value is None or value == "":
            continue
        if name.startswith(rules.CUSTOM_PREFIX):
            key = name[len(rules.CUSTOM_PREFIX) :]
            if not rules.CUSTOM_KEY_RE.match(key) or "__" in key:
                raise ValidationFailed(
                    f"{name!r} is not a custom attribute filter.",
                    errors=[FieldProblem("invalid custom attribute name", name)],
                )
            qs = qs.filter(**{f"custom__{key}": value})
        elif name == "is_active":
            qs = qs.filter(is_active=_bool(value))
        elif name == "manager_id":
            try:
                qs = qs.filter(manager_id=int(value))
            except (TypeError, ValueError):
                raise ValidationFailed(
                    "manager_id must be a person id.",
                    errors=[FieldProblem("must be a person id", "manager_id")],
                ) from None
        elif name in FILTERS:
            qs = qs.filter(**{name: value})
        else:
            raise ValidationFailed(
                f"{name!r} is not a filter on people.",
                errors=[FieldProblem("unknown filter", name)],
            )
    return qs.order_by("last_name", "first_name", "pk")


def get_person(*, tenant_id: int, person_id: int) -> Person:
    """The person with this id in the tenant; NotFound otherwise (also for other tenants)."""
    person = (
        Person.objects.filter(tenant_id=tenant_id, pk=person_id).select_related("manager").first()
    )
    if person is None:
        raise NotFound(f"There is no person {person_id}.")
    return person


def direct_reports(*, manager: Person, include_inactive: bool = False) -> QuerySet[Person]:
    """The people who report to `manager` (active ones unless `include_inactive`)."""
    qs = Person.objects.filter(tenant_id=manager.tenant_id, manager=manager)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("last_name", "first_name", "pk")


def team_members(*, manager: Person, include_indirect: bool = True) -> list[Person]:
    """The manager's active reports; with `include_indirect`, everyone below them too.

    Walks the hierarchy breadth-first, one query per level; safe against cycles.
    """
    members: list[Person] = []
    seen = {manager.pk}
    level = [manager.pk]
    while level:
        # Sorted here, not by the database: an ORDER BY on the name lets SQLite's planner pick
        # the (tenant, last_name, first_name) index and scan the whole organisation instead of
        # looking the reports up by (tenant, manager).
        found = sorted(
            Person.objects.filter(
                tenant_id=manager.tenant_id, manager_id__in=level, is_active=True
            ).order_by(),
            key=lambda p: (p.last_name, p.first_name, p.pk),
        )
        level = []
        for person in found:
            if person.pk not in seen:
                seen.add(person.pk)
                members.append(person)
                level.append(person.pk)
        if not include_indirect:
            break
    return members


def team_member_ids(*, manager: Person, include_indirect: bool = True) -> set[int]:
    """The ids of `team_members` (the same walk, reading ids only: no Person objects for a
    manager with tens of thousands of people below them)."""
    members: set[int] = set()
    seen = {manager.pk}
    level = [manager.pk]
    active = Person.objects.filter(tenant_id=manager.tenant_id, is_active=True).order_by()
    while level:
        found = {
            pk
            for part in chunks(level)
            for pk in with_ids_in(active, "manager_id", part).values_list("pk", flat=True)
        }
        level = sorted(found - seen)
        seen.update(level)
        members.update(level)
        if not include_indirect:
            break
    return members


def is_in_team(*, manager: Person, person: Person) -> bool:
    """Whether `person` is below `manager` in the hierarchy (walks up from the person)."""
    if person.tenant_id != manager.tenant_id:
        return False
    seen: set[int] = set()
    next_id = person.manager_id
    while next_id is not None and next_id not in seen:
        if next_id == manager.pk:
            return True
        seen.add(next_id)
        next_id = (
            Person.objects.filter(tenant_id=manager.tenant_id, pk=next_id)
            .values_list("manager_id", flat=True)
            .first()
        )
    return False


def distinct_values(*, tenant_id: int, attribute: str) -> list[str]:
    """The non-blank values an attribute takes in the tenant, sorted (for filter drop-downs)."""
    if attribute not in FACETS:
        raise ValidationFailed(f"{attribute!r} cannot be listed.")
    return list(
        Person.objects.filter(tenant_id=tenant_id)
        .exclude(**{attribute: ""})
        .order_by(attribute)
        .values_list(attribute, flat=True)
        .distinct()
    )


def filter_options(*, tenant_id: int) -> dict[str, list[str]]:
    """Every facet's distinct values: {attribute: [value, ...]}."""
    return {name: distinct_values(tenant_id=tenant_id, attribute=name) for name in FACETS}
