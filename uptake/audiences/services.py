"""Writes about audiences: create, edit, deactivate, and keep membership up to date.

Membership is maintained two ways that must always agree:
- live: `apply_person_changes` re-evaluates the people whose HR facts changed (and those whose
  facts follow from them: people below a moved manager, a manager who gained or lost a report)
  against every active audience of the tenant;
- in full: `recompute_audiences` evaluates each rule over the whole tenant in SQL.
Every join and leave writes a MembershipChange row with the rule version and reason, and each
operation publishes one AudienceMembershipChanged per audience whose members changed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from uptake.analytics import services as analytics
from uptake.audiences import compile as sql
from uptake.audiences import rules
from uptake.audiences.events import AudienceMembershipChanged
from uptake.audiences.models import (
    Audience,
    AudienceMembership,
    AudienceVersion,
    MembershipChange,
)
from uptake.core import bulk, bus, clock
from uptake.core.actor import Actor
from uptake.core.bus import handled_before_commit, merging_after_commit, publish
from uptake.core.errors import Conflict, FieldProblem, ValidationFailed

Reason = MembershipChange.Reason
# Above this many people, a live change is evaluated in SQL per audience rather than person by
# person in Python: both give the same result (property-tested), the SQL path is faster in bulk.
PYTHON_LIMIT = 2000
# A full recompute handles at most this many people per transaction (see _person_ranges):
# fewer, larger ranges run fewer statements (each audience's work is per range); on SQLite a
# range holds the write lock for its length (~5 s; other writers wait, busy_timeout 10 s).
RECOMPUTE_PEOPLE = 50_000


@dataclass
class MembershipDiff:
    """What one operation changed in one audience."""

    audience_id: int
    rule_version: int
    joined: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)


def rule_from_input(*, rule: Any = None, rule_text: str | None = None) -> dict[str, Any]:
    """The canonical rule from a JSON tree or the text syntax (exactly one must be given)."""
    if isinstance(rule, str) and rule_text is None:
        rule, rule_text = None, rule
    if rule is not None and rule_text:
        raise ValidationFailed(
            "Give the rule as JSON or as text, not both.",
            errors=[FieldProblem("give the rule as JSON or as text, not both", "rule")],
        )
    if rule is not None:
        return rules.validate(rule)
    if rule_text is None:
        raise ValidationFailed(
            "The audience needs a rule.", errors=[FieldProblem("a rule is required", "rule")]
        )
    return rules.parse(rule_text)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            "The audience needs a name.", errors=[FieldProblem("is required", "name")]
        )
    if len(name) > 200:
        raise ValidationFailed(
            "The name is too long.", errors=[FieldProblem("is longer than 200 characters", "name")]
        )
    return name


# --- Writing membership ---------------------------------------------------------------------------


def _write(audience: Audience, diff: MembershipDiff, *, reason: str, now: dt.datetime) -> None:
    """Apply one audience's joins and leaves, record them, publish the event on commit."""
    if not diff.joined and not diff.left:
        return
    tenant_id, audience_id = audience.tenant_id, audience.pk
    diff.joined.sort()
    diff.left.sort()
    # Plain SQL: nothing refers to a membership (no cascade, no signal).
    bulk.delete_where(AudienceMembership, {"audience_id": audience_id}, "person_id", diff.left)
    # Rows that differ only by person (and join / leave): expanded by the database.
    stamp = connection.ops.adapt_datetimefield_value(now)
    version = diff.rule_version
    bulk.insert_columns(
        AudienceMembership,
        {
            "tenant_id": tenant_id,
            "audience_id": audience_id,
            "joined_at": stamp,
            "rule_version": version,
            "created_at": stamp,
            "updated_at": stamp,
        },
        {"person_id": diff.joined},
    )
    bulk.insert_columns(
        MembershipChange,
        {
            "tenant_id": tenant_id,
            "audience_id": audience_id,
            "rule_version": version,
            "at": stamp,
            "reason": reason,
            "created_at": stamp,
            "updated_at": stamp,
        },
        {
            "person_id": diff.joined + diff.left,
            "change": [MembershipChange.Change.JOINED.value] * len(diff.joined)
            + [MembershipChange.Change.LEFT.value] * len(diff.left),
        },
    )
    publish(
        AudienceMembershipChanged(
            tenant_id=tenant_id,
            audience_id=audience.pk,
            rule_version=diff.rule_version,
            joined=tuple(diff.joined),
            left=tuple(diff.left),
            reason=reason,
        )
    )


def _current_members(audience: Audience, people: tuple[int, int] | None = None) -> set[int]:
    qs = AudienceMembership.objects.filter(audience=audience)
    if people is not None:
        qs = qs.filter(person_id__gte=people[0], person_id__lte=people[1])
    return set(qs.values_list("person_id", flat=True))


def _sync_in_full(
    audience: Audience,
    *,
    reason: str,
    today: dt.date,
    now: dt.datetime,
    people: tuple[int, int] | None = None,
    wanted: set[int] | None = None,
) -> MembershipDiff:
    """Make the audience's members exactly the people its rule selects (in SQL); with
    `people` (first and last person id), only among the people of that id range. `wanted`:
    those people, when the caller has evaluated the rule already."""
    if wanted is None and not audience.is_active:
        wanted = set()
    elif wanted is None:
        query = sql.members_query(audience.rule, tenant_id=audience.tenant_id, today=today)
        if people is not None:
            query = query.filter(pk__gte=people[0], pk__lte=people[1])
        wanted = set(query.order_by().values_list("pk", flat=True))
    current = _current_members(audience, people)
    diff = MembershipDiff(
        audience.pk, audience.version, sorted(wanted - current), sorted(current - wanted)
    )
    _write(audience, diff, reason=reason, now=now)
    return diff


# --- Audiences ------------------------------------------------------------------------------------


def create_audience(
    *,
    actor: Actor,
    tenant_id: int,
    name: str,
    description: str = "",
    rule: Any = None,
    rule_text: str | None = None,
) -> Audience:
    """Create an audience (version 1) and fill it at once (reason "created").

    The rule is a JSON tree or text (see rule_from_input); ValidationFailed with the exact
    place for a bad rule; Conflict if the tenant already has an audience with this name.
    """
    name = _clean_name(name)
    canonical = rule_from_input(rule=rule, rule_text=rule_text)
    text = rules.to_text(canonical)
    now = clock.now()
    with transaction.atomic():
        if Audience.objects.filter(tenant_id=tenant_id, name=name).exists():
            raise Conflict(f"There is already an audience called {name!r}.")
        try:
            with transaction.atomic():
                audience = Audience.objects.create(
                    tenant_id=tenant_id,
                    name=name,
                    description=description.strip(),
                    rule=canonical,
                    rule_text=text,
                    version=1,
                    created_by_id=actor.person_id,
                )
        except IntegrityError:
            raise Conflict(f"There is already an audience called {name!r}.") from None
        AudienceVersion.objects.create(
            tenant_id=tenant_id,
            audience=audience,
            version=1,
            rule=canonical,
            rule_text=text,
            created_by_id=actor.person_id,
        )
        _sync_in_full(audience, reason=Reason.CREATED, today=clock.today(), now=now)
    return audience


def update_audience(
    *,
    actor: Actor,
    audience: Audience,
    name: str | None = None,
    description: str | None = None,
    rule: Any = None,
    rule_text: str | None = None,
    is_active: bool | None = None,
) -> Audience:
    """Change an audience. A different rule makes a new version and applies the membership
    difference at once (reason "rule_edit"); deactivating empties it (reason "deactivated");
    reactivating refills it."""
    new_rule = (
        rule_from_input(rule=rule, rule_text=rule_text)
        if rule is not None or rule_text is not None
        else None
    )
    now = clock.now()
    with transaction.atomic():
        current = Audience.objects.select_for_update().get(
            tenant_id=audience.tenant_id, pk=audience.pk
        )
        if name is not None:
            clean = _clean_name(name)
            if (
                clean != current.name
                and Audience.objects.filter(tenant_id=current.tenant_id, name=clean)
                .exclude(pk=current.pk)
                .exists()
            ):
                raise Conflict(f"There is already an audience called {clean!r}.")
            current.name = clean
        if description is not None:
            current.description = description.strip()
        reason: str | None = None
        if new_rule is not None and new_rule != current.rule:
            current.version += 1
            current.rule = new_rule
            current.rule_text = rules.to_text(new_rule)
            AudienceVersion.objects.create(
                tenant_id=current.tenant_id,
                audience=current,
                version=current.version,
                rule=new_rule,
                rule_text=current.rule_text,
                created_by_id=actor.person_id,
            )
            reason = Reason.RULE_EDIT
        if is_active is not None and is_active != current.is_active:
            current.is_active = is_active
            reason = Reason.RECOMPUTE if is_active else Reason.DEACTIVATED
            if is_active and new_rule is not None:
                reason = Reason.RULE_EDIT
        current.save()
        if reason is not None:
            _sync_in_full(current, reason=reason, today=clock.today(), now=now)
    for attr in ("name", "description", "rule", "rule_text", "version", "is_active", "updated_at"):
        setattr(audience, attr, getattr(current, attr))
    return current


def deactivate_audience(*, actor: Actor, audience: Audience) -> Audience:
    """Deactivate (the API's delete): everyone leaves (reason "deactivated"), history stays."""
    return update_audience(actor=actor, audience=audience, is_active=False)


def _person_ranges(tenant_id: int, workers: int) -> list[tuple[int, int]]:
    """The tenant's person ids cut into consecutive ranges (first, last) of RECOMPUTE_PEOPLE
    for one worker; for several, into ranges of (nearly) equal size, as few as keep every
    worker busy to the end (a multiple of `workers` when the people divide evenly), none
    larger than RECOMPUTE_PEOPLE."""
    from uptake.people.models import Person

    ids = list(
        Person.objects.filter(tenant_id=tenant_id).order_by("pk").values_list("pk", flat=True)
    )
    size = RECOMPUTE_PEOPLE
    if workers > 1:
        rounds = -(-len(ids) // (workers * RECOMPUTE_PEOPLE))
        size = max(1, -(-len(ids) // (workers * max(rounds, 1))))
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def recompute_audiences(
    *, tenant_id: int, audience_ids: Iterable[int] | None = None, reason: str = Reason.RECOMPUTE
) -> list[MembershipDiff]:
    """Evaluate every active audience of the tenant (or those given) over all its people and
    apply the difference, with everything that follows (enrolments, links, events);
    idempotent (a second run changes nothing). Time-based rules ("tenure_days <= 30",
    "hire_date within last 30 days") move people as days pass: run it nightly.

    The people are taken in consecutive id ranges (`_person_ranges`), one transaction each,
    with the handlers of the membership changes run inside it (`bus.handled_before_commit`):
    each range commits once, all or nothing, and writes only its part of every index keyed by
    person, instead of every audience rewriting the whole index in a commit of its own."""
    now = clock.now()
    today = clock.today()
    qs = Audience.objects.filter(tenant_id=tenant_id, is_active=True)
    if audience_ids is not None:
        qs = qs.filter(pk__in=list(audience_ids))
    chosen = list(qs.order_by("pk").values_list("pk", flat=True))
    by_audience: dict[int, MembershipDiff] = {}
    workers = _workers()
    ranges = _person_ranges(tenant_id, workers) if chosen else []
    with merging_after_commit():  # follow-ups (managers told) once, not once per range
        if workers > 1 and len(ranges) > 1:
            _recompute_side_by_side(
                min(workers, len(ranges)),
                tenant_id,
                chosen,
                ranges,
                by_audience,
                reason=reason,
                today=today,
                now=now,
            )
        else:
            for people in ranges:
                _recompute_range(
                    tenant_id, chosen, people, by_audience, reason=reason, today=today, now=now
                )
    return list(by_audience.values())


def _workers() -> int:
    """How many ranges run side by side (ADR 0038): on PostgreSQL, up to
    UPTAKE_RECOMPUTE_WORKERS connections, each a transaction of its own; one at a time on
    SQLite (one writer) and inside a caller's transaction (the ranges are then its savepoints,
    which other connections could not see)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, settings.UPTAKE_RECOMPUTE_WORKERS)


def _recompute_side_by_side(
    workers: int,
    tenant_id: int,
    chosen: list[int],
    ranges: list[tuple[int, int]],
    by_audience: dict[int, MembershipDiff],
    **kwargs: Any,
) -> None:
    """The ranges shared among `workers` threads, each with its own database connection: the
    database works on one range while Python prepares another. Ranges hold disjoint people, so
    their rows never collide; the audiences are locked FOR SHARE. Once a range fails no new
    one starts, and the first error is raised after the running ones end."""
    todo = iter(ranges)
    lock = threading.Lock()
    failed: list[BaseException] = []
    follow_ups = bus.merged_work()
    zone = timezone.get_current_timezone_name()
    language = translation.get_language()

    def work() -> None:
        try:
            with (
                bus.merging_into(follow_ups),
                timezone.override(zone),
                translation.override(language),
            ):
                while True:
                    with lock:
                        people = next(todo, None) if not failed else None
                    if people is None:
                        return
                    mine: dict[int, MembershipDiff] = {}
                    _recompute_range(tenant_id, chosen, people, mine, **kwargs)
                    with lock:
                        for pk, diff in mine.items():
                            total = by_audience.setdefault(
                                pk, MembershipDiff(pk, diff.rule_version)
                            )
                            total.joined += diff.joined
                            total.left += diff.left
        except BaseException as error:
            with lock:
                failed.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=work, name=f"recompute-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]


def _lock_shared(audience_ids: list[int]) -> None:
    """FOR SHARE row locks on the audiences, in id order (PostgreSQL; SQLite locks the whole
    database on the first write)."""
    if connection.vendor != "postgresql" or not audience_ids:
        return
    table = connection.ops.quote_name(Audience._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR SHARE",  # noqa: S608
            [list(audience_ids)],
        )


def _recompute_range(
    tenant_id: int,
    chosen: list[int],
    people: tuple[int, int],
    by_audience: dict[int, MembershipDiff],
    *,
    reason: str,
    today: dt.date,
    now: dt.datetime,
) -> None:
    """One range of people for every chosen audience: one transaction, consequences inside."""
    # The range's learning events go into the rollups together as it ends (ADR 0028), or to
    # the worker when they are many (ADR 0035).
    with transaction.atomic(), analytics.rollups_held(later=True), handled_before_commit():
        # Locked in id order, like apply_person_changes; shared, so that ranges may run side
        # by side (they write disjoint people) while an edit or a live change waits for them.
        _lock_shared(chosen)
        audiences = [
            a for a in Audience.objects.filter(pk__in=chosen).order_by("pk") if a.is_active
        ]
        # Every rule over the range's people in one query (None: one query per audience).
        members = sql.members_by_rule(
            {a.pk: a.rule for a in audiences},
            tenant_id=tenant_id,
            today=today,
            first=people[0],
            last=people[1],
        )
        for audience in audiences:
            diff = _sync_in_full(
                audience,
                reason=reason,
                today=today,
                now=now,
                people=people,
                wanted=None if members is None else members[audience.pk],
            )
            total = by_audience.setdefault(
                audience.pk, MembershipDiff(audience.pk, audience.version)
            )
            total.joined += diff.joined
            total.left += diff.left


# --- Live maintenance -----------------------------------------------------------------------------


def _affected(*, tenant_id: int, person_ids: Collection[int], used: frozenset[str]) -> set[int]:
    """The changed people plus those whose facts follow from theirs."""
    ids = set(person_ids)
    if not ids:
        return ids
    from uptake.people.models import Person

    if "reports_to_any" in used:
        ids |= sql.descendants(tenant_id=tenant_id, person_ids=ids)
    if used & {"manager", "reports_to"}:
        # A manager's new employee id changes what "reports_to" says about their reports.
        for part in sql.chunks(sorted(set(person_ids))):
            ids.update(
                Person.objects.filter(tenant_id=tenant_id, manager_id__in=part)
                .order_by()
                .values_list("pk", flat=True)
            )
    if "role" in used:
        # Gaining or losing an active report makes someone a manager or not.
        for part in sql.chunks(sorted(set(person_ids))):
            ids.update(
                m
                for m in Person.objects.filter(tenant_id=tenant_id, pk__in=part)
                .order_by()
                .values_list("manager_id", flat=True)
                if m
            )
    return ids


def _evaluate_in_python(
    audiences: list[Audience],
    *,
    tenant_id: int,
    ids: set[int],
    used: frozenset[str],
    today: dt.date,
) -> dict[int, set[int]]:
    facts = sql.load_facts(tenant_id=tenant_id, person_ids=ids, used=used)
    return {
        a.pk: {pid for pid, f in facts.items() if rules.matches(a.rule, f, today)}
        for a in audiences
    }


def _evaluate_in_sql(
    audiences: list[Audience], *, tenant_id: int, ids: set[int], today: dt.date
) -> dict[int, set[int]]:
    together = sql.members_by_rule(
        {a.pk: a.rule for a in audiences}, tenant_id=tenant_id, today=today
    )
    if together is not None:
        return {pk: matching & ids for pk, matching in together.items()}
    out: dict[int, set[int]] = {}
    for audience in audiences:
        matching = set(
            sql.members_query(audience.rule, tenant_id=tenant_id, today=today)
            .order_by()
            .values_list("pk", flat=True)
        )
        out[audience.pk] = matching & ids
    return out


def apply_person_changes(
    *, tenant_id: int, person_ids: Collection[int], reason: str = Reason.HR_CHANGE
) -> list[MembershipDiff]:
    """Re-evaluate these people (and those whose facts follow from theirs) against every
    active audience of the tenant; write the joins and leaves and publish one event per
    audience that changed. Idempotent. Unknown ids, or ids of another tenant, leave any
    audience they were in."""
    if not person_ids:
        return []
    now = clock.now()
    today = clock.today()
    # The consequences (enrolments, withdrawals) are applied in the same transaction: one
    # commit, and membership never disagrees with the enrolments it implies. Their learning
    # events go into the rollups together at the end (one pass for a leave and a join).
    with transaction.atomic(), analytics.rollups_held(), handled_before_commit():
        # Locked in id order, like recompute_audiences: concurrent changes serialise per
        # audience instead of deadlocking or double-writing a membership.
        audiences = list(
            Audience.objects.select_for_update()
            .filter(tenant_id=tenant_id, is_active=True)
            .order_by("pk")
        )
        if not audiences:
            return []
        used = frozenset().union(*(rules.attributes_used(a.rule) for a in audiences))
        ids = _affected(tenant_id=tenant_id, person_ids=person_ids, used=used)
        if len(ids) <= PYTHON_LIMIT:
            wanted = _evaluate_in_python(
                audiences, tenant_id=tenant_id, ids=ids, used=used, today=today
            )
        else:
            wanted = _evaluate_in_sql(audiences, tenant_id=tenant_id, ids=ids, today=today)
        current: dict[int, set[int]] = {a.pk: set() for a in audiences}
        for person_id, audience_id in bulk.rows_where(
            AudienceMembership,
            {"tenant_id": tenant_id},
            "person_id",
            ids,
            "person_id",
            "audience_id",
            scan=False,
        ):
            if audience_id in current:  # not an inactive audience's
                current[audience_id].add(person_id)
        diffs = []
        for audience in audiences:
            diff = MembershipDiff(
                audience.pk,
                audience.version,
                sorted(wanted[audience.pk] - current[audience.pk]),
                sorted(current[audience.pk] - wanted[audience.pk]),
            )
            _write(audience, diff, reason=reason, now=now)
            if diff.joined or diff.left:
                diffs.append(diff)
    return diffs


def membership_snapshot(*, tenant_id: int) -> Mapping[int, frozenset[int]]:
    """audience id -> member ids, for comparing live maintenance with a full recompute."""
    out: dict[int, set[int]] = {}
    for audience_id, person_id in AudienceMembership.objects.filter(
        tenant_id=tenant_id
    ).values_list("audience_id", "person_id"):
        out.setdefault(audience_id, set()).add(person_id)
    return {k: frozenset(v) for k, v in out.items()}
