"""Writes about people: create and update a person, grant roles, import the HR file.

Every change publishes its events on commit (`uptake.core.bus.publish`); a leaver's login is
made inactive in the same transaction as the change that made them a leaver.
"""

from __future__ import annotations

import functools
import secrets
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, transaction

from uptake.core import bulk, clock
from uptake.core.actor import Actor
from uptake.core.bus import publish
from uptake.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from uptake.people import rules
from uptake.people.events import PeopleImported, PersonChanged, PersonCreated, PersonDeactivated
from uptake.people.models import Person, PersonRole
from uptake.tenancy.models import Tenant

User = get_user_model()

MAX_IMPORT_BYTES = 20 * 1024 * 1024
_IN_CHUNK = 5000  # SQLite accepts at most 32,766 parameters in one statement

T = TypeVar("T")


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _cleaners() -> rules.Cleaners:
    return rules.Cleaners.build(today=clock.today(), time_zones=_time_zones())


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _snapshot(person: Person | dict[str, Any]) -> dict[str, Any]:
    """The JSON-friendly attributes of a person, as carried by PersonCreated."""
    row = person if isinstance(person, dict) else vars(person)
    out = {name: rules.json_value(row[name]) for name in rules.ATTRIBUTES}
    out["manager_id"] = row["manager_id"]
    out["custom"] = dict(row["custom"])
    return out


# --- Logins ----------------------------------------------------------------------------------


def _taken_usernames(names: Iterable[str]) -> set[str]:
    taken: set[str] = set()
    for chunk in _chunks(sorted(set(names)), _IN_CHUNK):
        taken.update(User.objects.filter(username__in=chunk).values_list("username", flat=True))
    return taken


def _pick_usernames(emails: list[str], *, tenant_slug: str) -> list[str]:
    """A unique login name per email: the email lowercased, suffixed with the tenant's slug
    (then a number) when it is taken, e.g. by the same address in another tenant."""
    taken = _taken_usernames(e.strip().lower() for e in emails)
    names = []
    for email in emails:
        candidates = rules.username_candidates(email, tenant_slug=tenant_slug)
        username = next(candidates)
        while username in taken:
            username = next(candidates)
            if username not in taken and User.objects.filter(username=username).exists():
                taken.add(username)
        taken.add(username)
        names.append(username)
    return names


def _unusable_password() -> str:
    """What set_unusable_password stores ("!" + random), without the cost of get_random_string
    per character, so that 100,000 new logins cost nothing."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20)


def _insert_many(model: type[Any], rows: list[dict[str, Any]], names: list[str]) -> None:
    """INSERT rows given as dicts (attname -> value) through uptake.core.bulk (ADR 0005)."""
    bulk.insert_rows(model, names, [[row[name] for name in names] for row in rows])


def _update_many(model: type[Any], rows: list[dict[str, Any]], names: list[str]) -> None:
    """UPDATE the named fields of each row (which carries its "id") through uptake.core.bulk."""
    bulk.update_rows(model, names, [(row["id"], [row[name] for name in names]) for row in rows])


def _set_users_active(user_ids: list[int], active: bool) -> None:
    for chunk in _chunks(user_ids, _IN_CHUNK):
        User.objects.filter(pk__in=chunk).update(is_active=active)


# --- One person ------------------------------------------------------------------------------


def _manager_in_tenant(*, tenant_id: int, manager_id: int | None) -> Person | None:
    if manager_id is None:
        return None
    manager = Person.objects.filter(tenant_id=tenant_id, pk=manager_id).first()
    if manager is None:
        raise NotFound(f"There is no person {manager_id} to be the manager.")
    return manager


def _check_no_cycle(*, person: Person, manager: Person | None) -> None:
    """Walking up from the new manager must not reach the person (one query per level)."""
    if manager is None:
        return
    if manager.pk == person.pk:
        raise ValidationFailed(
            "A person cannot be their own manager.",
            errors=[FieldProblem("A person cannot be their own manager", "manager_id")],
        )
    seen = {manager.pk}
    next_id = manager.manager_id
    chain = [manager.employee_id]
    while next_id is not None and next_id not in seen:
        if next_id == person.pk:
            names = " → ".join([person.employee_id, *chain, person.employee_id])
            raise ValidationFailed(
                f"This would create a manager cycle: {names}.",
                errors=[FieldProblem(f"Manager cycle: {names}", "manager_id")],
            )
        seen.add(next_id)
        row = (
            Person.objects.filter(tenant_id=person.tenant_id, pk=next_id)
            .values_list("manager_id", "employee_id")
            .first()
        )
        if row is None:
            break
        next_id, employee_id = row
        chain.append(employee_id)


def _split_attrs(
    attrs: dict[str, Any], *, tenant_id: int, creating: bool
) -> tuple[dict[str, Any], dict[str, Any] | None, bool, Person | None]:
    """Clean keyword attributes: (values, custom or None, manager given?, manager)."""
    attrs = dict(attrs)
    custom_raw = attrs.pop("custom", None)
    manager_given = "manager" in attrs or "manager_id" in attrs
    manager: Person | None = None
    if "manager" in attrs:
        given = attrs.pop("manager")
        manager = _manager_in_tenant(
            tenant_id=tenant_id, manager_id=given.pk if given is not None else None
        )
    if "manager_id" in attrs:
        manager = _manager_in_tenant(tenant_id=tenant_id, manager_id=attrs.pop("manager_id"))
    values, problems = rules.clean_attributes(attrs, cleaners=_cleaners(), creating=creating)
    custom: dict[str, Any] | None = None
    if custom_raw is not None:
        if not isinstance(custom_raw, dict):
            problems.append(FieldProblem("must be an object of name: value", "custom"))
        else:
            custom, custom_problems = rules.clean_custom(custom_raw)
            problems.extend(custom_problems)
    if problems:
        raise ValidationFailed(
            "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems),
            errors=problems,
        )
    return values, custom, manager_given, manager


def create_person(*, actor: Actor, tenant_id: int, **attrs: Any) -> Person:
    """Create a person and their login (unusable password until SSO or a password is set).

    Attributes are Person field names; `manager` (a Person) or `manager_id` must be in the same
    tenant (NotFound otherwise); `custom` is a dict. Conflict if the employee id is taken.
    """
    values, custom, _, manager = _split_attrs(attrs, tenant_id=tenant_id, creating=True)
    tenant = Tenant.objects.get(pk=tenant_id)
    with transaction.atomic():
        if Person.objects.filter(tenant_id=tenant_id, employee_id=values["employee_id"]).exists():
            raise Conflict(f"Employee id {values['employee_id']!r} is already used.")
        person = Person(tenant_id=tenant_id, manager=manager, custom=custom or {}, **values)
        if not person.is_active:
            person.deactivated_at = clock.now()
        user = User.objects.create(
            username=_pick_usernames([person.email], tenant_slug=tenant.slug)[0],
            email=person.email,
            first_name=person.first_name[:150],
            last_name=person.last_name[:150],
            is_active=person.is_active,
            password=_unusable_password(),
        )
        person.user = user
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:
            raise Conflict(f"Employee id {values['employee_id']!r} is already used.") from None
        publish(
            PersonCreated(tenant_id=tenant_id, person_id=person.pk, attributes=_snapshot(person))
        )
    return person


def update_person(*, actor: Actor, person: Person, **attrs: Any) -> Person:
    """Change a person's attributes; publishes PersonChanged with {name: (old, new)}.

    `custom` is merged (a None or "" value removes a key); the manager change is reported as
    "manager" with employee ids. Making a person inactive sets `deactivated_at`, deactivates
    their login and publishes PersonDeactivated; reactivating reverses both.
    """
    tenant_id = person.tenant_id
    values, custom, manager_given, manager = _split_attrs(
        attrs, tenant_id=tenant_id, creating=False
    )
    with transaction.atomic():
        current = (
            Person.objects.select_for_update(of=("self",))
            .select_related("manager")
            .get(tenant_id=tenant_id, pk=person.pk)
        )
        changes = rules.diff_attributes({name: getattr(current, name) for name in values}, values)
        if (
            "employee_id" in changes
            and Person.objects.filter(tenant_id=tenant_id, employee_id=values["employee_id"])
            .exclude(pk=current.pk)
            .exists()
        ):
            raise Conflict(f"Employee id {values['employee_id']!r} is already used.")
        if manager_given and current.manager_id != (manager.pk if manager else None):
            _check_no_cycle(person=current, manager=manager)
            changes["manager"] = (
                current.manager.employee_id if current.manager else None,
                manager.employee_id if manager else None,
            )
            current.manager = manager
        if custom is not None:
            merged = rules.merge_custom(current.custom, custom)
            changes.update(rules.custom_changes(current.custom, merged))
            current.custom = merged
        if not changes:
            return current
        for name in values:
            setattr(current, name, values[name])
        deactivated = "is_active" in changes and not current.is_active
        if "is_active" in changes:
            current.deactivated_at = None if current.is_active else clock.now()
            if current.user_id:
                _set_users_active([current.user_id], current.is_active)
        if "email" in changes and current.user_id:
            User.objects.filter(pk=current.user_id).update(email=current.email)
        current.save()
        publish(PersonChanged(tenant_id=tenant_id, person_id=current.pk, changes=changes))
        if deactivated:
            publish(PersonDeactivated(tenant_id=tenant_id, person_id=current.pk))
    # The caller's instance reflects the change (e.g. the viewer's own person in a request).
    for name in (*rules.ATTRIBUTES, "manager_id", "custom", "deactivated_at", "updated_at"):
        setattr(person, name, getattr(current, name))
    return current


def grant_role(*, actor: Actor, person: Person, role: str) -> PersonRole:
    """Grant a role (idempotent). ValidationFailed for a role that cannot be granted."""
    if role not in rules.GRANTABLE_ROLES:
        raise ValidationFailed(
            f"{role!r} is not a role that can be granted.",
            errors=[FieldProblem("unknown role", "role")],
        )
    grant, _ = PersonRole.objects.get_or_create(
        tenant_id=person.tenant_id, person=person, role=role
    )
    return grant


def revoke_role(*, actor: Actor, person: Person, role: str) -> None:
    """Revoke a role (idempotent). Conflict when it would leave the tenant without an admin."""
    with transaction.atomic():
        admins = list(
            PersonRole.objects.select_for_update()
            .filter(tenant_id=person.tenant_id, role=rules.PLATFORM_ADMIN, person__is_active=True)
            .values_list("person_id", flat=True)
        )
        if role == rules.PLATFORM_ADMIN and admins == [person.pk]:
            raise Conflict(
                "This is the organisation's last platform admin; "
                "grant the role to someone else first."
            )
        PersonRole.objects.filter(tenant_id=person.tenant_id, person=person, role=role).delete()


# --- The HR import ---------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import changed (or, in a dry run, would change).

    `changes` maps the employee id of each updated or deactivated person to
    {attribute: (old, new)}; `names` maps every employee id listed to the person's name.
    """

    dry_run: bool
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    created_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)
    deactivated_ids: list[str] = field(default_factory=list)
    changes: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def moved_ids(self) -> list[str]:
        """Updated people whose department, location, job, role family or manager changed."""
        return [
            eid for eid in self.updated_ids if rules.MOVE_ATTRIBUTES.intersection(self.changes[eid])
        ]

    @property
    def total_changes(self) -> int:
        return self.created + self.updated + self.deactivated


_Row = dict[str, Any]  # a person as plain values (attnames), much cheaper than a model instance
_LOADED = ("id", "user_id", "manager_id", "custom", "deactivated_at", *rules.ATTRIBUTES)


@dataclass
class _Plan:
    report: ImportReport
    new: list[_Row]
    changed: dict[str, _Row]
    changed_fields: set[str]
    manager_of: dict[str, str | None]  # employee id -> wanted manager's employee id
    activated_user_ids: list[int]
    deactivated_user_ids: list[int]
    deactivated: list[str]


def _raise_problems(problems: list[FieldProblem]) -> None:
    problems.sort(key=lambda p: (p.row or 0, p.field or ""))
    count = len(problems)
    raise ValidationFailed(
        f"The file has {count} problem{'s' if count != 1 else ''}; nothing was changed.",
        errors=problems,
    )


def _full_name(row: _Row) -> str:
    return f"{row.get('first_name', '')} {row.get('last_name', '')}".strip()


def _plan(
    *,
    rows: list[rules.PersonRow],
    people: dict[str, _Row],
    eid_of: dict[int, str],
    deactivate_missing: bool,
    dry_run: bool,
    now: Any,
) -> _Plan:
    report = ImportReport(dry_run=dry_run)
    plan = _Plan(report, [], {}, set(), {}, [], [], [])
    blank = {name: "" for name in rules.TEXT_LIMITS} | {"country": "", "hire_date": None}
    for row in rows:
        person = people.get(row.employee_id)
        if person is None:
            new = {**blank, **rules.DEFAULTS, **row.values}
            new["custom"] = rules.merge_custom({}, row.custom)
            new["deactivated_at"] = None if new["is_active"] else now
            new["manager_id"] = None
            plan.new.append(new)
            if row.manager:
                plan.manager_of[row.employee_id] = row.manager
            report.created_ids.append(row.employee_id)
            report.names[row.employee_id] = _full_name(new)
            continue
        changes = rules.diff_attributes(person, row.values)
        for name in changes:
            person[name] = row.values[name]
        if row.custom:
            merged = rules.merge_custom(person["custom"], row.custom)
            custom_changes = rules.custom_changes(person["custom"], merged)
            if custom_changes:
                changes.update(custom_changes)
                person["custom"] = merged
                plan.changed_fields.add("custom")
        manager_id = person["manager_id"]
        current_manager = eid_of.get(manager_id) if manager_id else None
        if row.manager is not None and (row.manager or None) != current_manager:
            changes["manager"] = (current_manager, row.manager or None)
            plan.manager_of[row.employee_id] = row.manager or None
        if not changes:
            report.unchanged += 1
            continue
        plan.changed_fields.update(n for n in changes if n in rules.ATTRIBUTES)
        if "is_active" in changes:
            person["deactivated_at"] = None if person["is_active"] else now
            plan.changed_fields.add("deactivated_at")
            if person["user_id"]:
                active = person["is_active"]
                (plan.activated_user_ids if active else plan.deactivated_user_ids).append(
                    person["user_id"]
                )
            if not person["is_active"]:
                plan.deactivated.append(row.employee_id)
        if row.employee_id in plan.deactivated:
            report.deactivated_ids.append(row.employee_id)
        else:
            report.updated_ids.append(row.employee_id)
        report.changes[row.employee_id] = changes
        report.names[row.employee_id] = _full_name(person)
        plan.changed[row.employee_id] = person
    if deactivate_missing:
        in_file = {row.employee_id for row in rows}
        for eid, person in people.items():
            if person["is_active"] and eid not in in_file:
                person["is_active"] = False
                person["deactivated_at"] = now
                plan.changed_fields.update({"is_active", "deactivated_at"})
                plan.changed[eid] = person
                plan.deactivated.append(eid)
                if person["user_id"]:
                    plan.deactivated_user_ids.append(person["user_id"])
                report.deactivated_ids.append(eid)
                report.changes[eid] = {"is_active": (True, False)}
                report.names[eid] = _full_name(person)
    report.created = len(report.created_ids)
    report.updated = len(report.updated_ids)
    report.deactivated = len(report.deactivated_ids)
    return plan


def import_people_csv(
    *,
    actor: Actor,
    tenant_id: int,
    data: bytes | str,
    dry_run: bool = False,
    deactivate_missing: bool = False,
) -> ImportReport:
    """Import an HR file (see rules.parse_people_csv for the format), all or nothing.

    The whole file is validated first: any problem raises ValidationFailed with one
    FieldProblem per bad cell (row = file line, field = column) and nothing changes. Columns
    absent from the file leave those attributes as they are. With `deactivate_missing` the file
    is a full snapshot: active people of the tenant who are not in it become leavers (and
    their logins inactive). A dry run returns the same report and changes nothing. New people
    get a login (see `_pick_usernames`, `_unusable_password`). On commit, one PeopleImported
    carrying the ids of everyone created, changed or deactivated (and of former managers of
    people who changed manager); no per-person events, so that reactions run in bulk.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed(
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it or "
            "remove unused columns."
        )
    parsed = rules.parse_people_csv(data, today=clock.today(), time_zones=_time_zones())
    if parsed.problems and not parsed.rows:
        _raise_problems(parsed.problems)
    tenant = Tenant.objects.get(pk=tenant_id)
    with transaction.atomic():
        people: dict[str, _Row] = {
            row["employee_id"]: row
            for row in Person.objects.filter(tenant_id=tenant_id).order_by().values(*_LOADED)
        }
        eid_of = {row["id"]: eid for eid, row in people.items()}
        existing = {
            eid: (eid_of.get(row["manager_id"]) if row["manager_id"] else None)
            for eid, row in people.items()
        }
        problems = parsed.problems + rules.check_managers(parsed.rows, existing=existing)
        if problems:
            _raise_problems(problems)
        now = clock.now()
        plan = _plan(
            rows=parsed.rows,
            people=people,
            eid_of=eid_of,
            deactivate_missing=deactivate_missing,
            dry_run=dry_run,
            now=now,
        )
        if dry_run:
            return plan.report
        try:
            _apply(plan, tenant=tenant, people=people, now=now)
        except IntegrityError as exc:
            raise Conflict(
                "The people changed while the file was being imported; please try again."
            ) from exc
    return plan.report


_USER_FIELDS = [
    "username",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "password",
    "is_staff",
    "is_superuser",
    "date_joined",
]
_PERSON_FIELDS = [
    "tenant_id",
    "user_id",
    "created_at",
    "updated_at",
    "deactivated_at",
    "custom",
    *rules.ATTRIBUTES,
]


def _apply(plan: _Plan, *, tenant: Tenant, people: dict[str, _Row], now: Any) -> None:
    report = plan.report
    new = plan.new
    if new:
        usernames = _pick_usernames([p["email"] for p in new], tenant_slug=tenant.slug)
        users = [
            {
                "username": username,
                "email": p["email"],
                "first_name": p["first_name"][:150],
                "last_name": p["last_name"][:150],
                "is_active": p["is_active"],
                "password": _unusable_password(),
                "is_staff": False,
                "is_superuser": False,
                "date_joined": now,
            }
            for p, username in zip(new, usernames, strict=True)
        ]
        _insert_many(User, users, _USER_FIELDS)
        user_ids: dict[str, int] = {}
        for chunk in _chunks(usernames, _IN_CHUNK):
            user_ids.update(User.objects.filter(username__in=chunk).values_list("username", "id"))
        for p, username in zip(new, usernames, strict=True):
            p.update(
                tenant_id=tenant.pk, user_id=user_ids[username], created_at=now, updated_at=now
            )
        _insert_many(Person, new, _PERSON_FIELDS)
        ids = dict(Person.objects.filter(tenant_id=tenant.pk).values_list("employee_id", "id"))
        for p in new:
            p["id"] = ids[p["employee_id"]]
            people[p["employee_id"]] = p

    if plan.changed:
        changed = list(plan.changed.values())
        for p in changed:
            p["updated_at"] = now
        _update_many(Person, changed, sorted(plan.changed_fields | {"updated_at"}))
    _set_users_active(plan.deactivated_user_ids, False)
    _set_users_active(plan.activated_user_ids, True)

    # Second pass: managers, now that everyone in the file has an id.
    with_manager = []
    former_managers: set[int] = set()
    for eid, manager_eid in plan.manager_of.items():
        p = people[eid]
        if p.get("manager_id"):
            former_managers.add(p["manager_id"])
        p["manager_id"] = people[manager_eid]["id"] if manager_eid else None
        with_manager.append(p)
    if with_manager:
        _update_many(Person, with_manager, ["manager_id"])

    # One batch event, not one per person: its handlers (audiences...) work in bulk.
    changed_ids = {p["id"] for p in new} | {people[eid]["id"] for eid in report.changes}
    # Fresh statistics before the handlers run (hooks run in the order registered).
    bulk.refresh_statistics_later(Person, len(changed_ids))
    bulk.refresh_statistics_later(User, len(new))
    publish(
        PeopleImported(
            tenant_id=tenant.pk,
            created=report.created,
            updated=report.updated,
            deactivated=report.deactivated,
            unchanged=report.unchanged,
            person_ids=tuple(sorted(changed_ids | former_managers)),
        )
    )
