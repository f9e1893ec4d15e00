"""Writes to the event fact table.

Every learning event is written in the same transaction as the change that causes it, so a
rolled-back change leaves no event behind and a committed one is never missing its event.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import operator
from collections.abc import Callable, Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction

from uptake.analytics import fold, rollups
from uptake.analytics.models import LearningEvent, Verb
from uptake.analytics.selectors import Scope
from uptake.core import bulk, clock
from uptake.core.actor import Actor

BULK_BATCH_SIZE = 1000

_VERBS = frozenset(Verb.values)


def _check_verb(verb: str) -> None:
    # A typo'd verb would silently vanish from every report: refuse it where it is written.
    if verb not in _VERBS:
        raise ValueError(f"Unknown learning event verb {verb!r}")


def _check_people(pairs: Iterable[tuple[int, int]]) -> None:
    """Refuse a batch of events if any (tenant, person) is not a person of that tenant. The
    event table's keys are not checked by PostgreSQL (ADR 0032): one query per batch here
    instead of a lookup and a row lock per event at commit. (Stricter than the constraint
    was: a person of another organisation is refused too.)"""
    from uptake.people.models import Person

    wanted: dict[int, set[int]] = {}
    for tenant_id, person_id in pairs:
        wanted.setdefault(tenant_id, set()).add(person_id)
    # A statement built once (bulk.rows_where): building an ORM query cost a single event
    # more than the lookup (SQLite, +0.3 ms).
    for tenant_id, ids in wanted.items():
        found = {
            pk
            for (pk,) in bulk.rows_where(
                Person, {"tenant_id": tenant_id}, "pk", ids, "pk", scan=False
            )
        }
        unknown = ids - found
        if unknown:
            listed = ", ".join(map(str, sorted(unknown)[:10]))
            raise ValueError(
                f"Learning events for {len(unknown)} people who are not in organisation "
                f"{tenant_id}: {listed}"
            )


def record_event(
    *,
    tenant_id: int,
    person_id: int,
    verb: str,
    object_type: str,
    object_id: int | None,
    course_id: int | None = None,
    value: float | None = None,
    occurred_at: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
) -> LearningEvent:
    """Append one event (call inside the transaction of the change it records).

    `occurred_at` defaults to now; `value` holds a score, percent or duration.
    """
    event = new_event(
        tenant_id=tenant_id,
        person_id=person_id,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        course_id=course_id,
        value=value,
        occurred_at=occurred_at,
        data=data,
    )
    if rollups.holding() or not rollups.queues_statements():
        _check_people([(tenant_id, person_id)])
        event.save(force_insert=True)
        rollups.apply_events([fold.event_from(event)])
        return event
    # PostgreSQL: the INSERT goes in the rollups' first round trip (ADR 0027), its person
    # looked up in the tenant by the INSERT itself (ADR 0032: no NULL, no unknown person).
    try:
        rows = rollups.apply_events([fold.event_from(event)], lead=_insert_returning(event))
    except IntegrityError as error:
        if "person_id" not in str(error):
            raise
        raise ValueError(
            f"Learning event for person {person_id}, who is not in organisation {tenant_id}"
        ) from error
    event.pk = rows[0][0]
    event._state.adding = False
    event._state.db = DEFAULT_DB_ALIAS
    return event


@functools.cache
def _insert_sql() -> str:
    from uptake.people.models import Person

    qn = connection.ops.quote_name
    meta: Any = LearningEvent._meta
    columns = [meta.get_field(n).column for n in _COLUMNS]
    values = ["%s"] * len(columns)
    # The person as found in the tenant: NULL, refused by the column, if not there.
    values[_COLUMNS.index("person")] = (
        f"(SELECT id FROM {qn(Person._meta.db_table)} WHERE id = %s AND tenant_id = %s)"  # noqa: S608
    )
    return (
        f"INSERT INTO {qn(meta.db_table)} "  # noqa: S608
        f"({', '.join(qn(c) for c in columns)}) VALUES ({', '.join(values)}) "
        f"RETURNING {qn(meta.pk.column)}"
    )


def _insert_returning(event: LearningEvent) -> tuple[str, list[Any]]:
    """The INSERT ... RETURNING id of one new event (PostgreSQL: the values as they are)."""
    return _insert_sql(), [
        event.tenant_id,
        event.person_id,
        event.tenant_id,
        event.verb,
        event.object_type,
        event.object_id,
        event.course_id,
        event.occurred_at,
        event.value,
        _json(event.data),
    ]


def record_events(*, events: list[LearningEvent], people_checked: bool = False) -> int:
    """Append many unsaved events at once (imports, generators, bulk services); returns how many.

    Events without `occurred_at` get now. `people_checked`: the caller read each event's
    (tenant, person) from rows of that tenant in this transaction (enrolments it changed).
    """
    if not events:
        return 0
    now = clock.now()
    for event in events:
        _check_verb(event.verb)
        if event.occurred_at is None:
            event.occurred_at = now
        if event.data is None:
            event.data = {}
    if not people_checked:
        _check_people({(e.tenant_id, e.person_id) for e in events})
    when = rollups.datetime_writer()
    with _cache_for(len(events)):
        bulk.insert_rows(
            LearningEvent,
            _COLUMNS,
            [
                (
                    e.tenant_id,
                    e.person_id,
                    e.verb,
                    e.object_type,
                    e.object_id,
                    e.course_id,
                    when(e.occurred_at),
                    e.value,
                    _json(e.data),
                )
                for e in events
            ],
        )
        rollups.apply_events(fold.event_from(e) for e in events)
    return len(events)


def _cache_for(rows: int) -> contextlib.AbstractContextManager[None]:
    """A large SQLite page cache for a large batch (`bulk.page_cache`): its inserts into the
    event table's indexes and the rollups' reads and writes touch pages all over them."""
    return bulk.page_cache() if rows >= BULK_CACHE_ROWS else contextlib.nullcontext()


# From this many events a write takes the large page cache (measured: a 50,000-event insert
# into a 400,000-event table 2.6 -> 1.6 s, its rollups 8.9 -> 8.0 s).
BULK_CACHE_ROWS = 1000


ROLLUPS_LATER_FROM = 5_000  # held events from which a batch leaves them to the worker


def rollups_held(*, later: bool = False) -> contextlib.AbstractContextManager[None]:
    """For a batch job, inside its transaction: the events it records in many small calls go
    into the rollups together when the block ends (`rollups.held`, ADR 0028). `later`: from
    ROLLUPS_LATER_FROM events, the worker applies them after the job commits (ADR 0035)."""
    return rollups.held(later_from=ROLLUPS_LATER_FROM if later else None)


def apply_pending_rollups() -> int:
    """Apply the events queued by `rollups_held(later=True)` (the worker's task); returns how
    many. Until then the reports do not count them (`pending_rollups` says how many wait)."""
    return rollups.apply_pending()


def pending_rollups(*, tenant_id: int) -> int:
    """How many of the organisation's events the reports do not count yet (ADR 0035)."""
    return rollups.pending_count(tenant_id=tenant_id)


def _json(data: dict[str, Any]) -> str:
    # Serialised here once (most events carry {}), not by the field for every row.
    return "{}" if not data else json.dumps(data, cls=DjangoJSONEncoder)


_COLUMNS = [
    "tenant",
    "person",
    "verb",
    "object_type",
    "object_id",
    "course_id",
    "occurred_at",
    "value",
    "data",
]


def insert_event_rows(
    *, names: list[str], rows: list[tuple[Any, ...]], people_checked: bool = False
) -> None:
    """Insert LearningEvent rows in bulk (`uptake.core.bulk.insert_rows`) and bring the
    rollups up to date with them, in the caller's transaction. `people_checked`: see
    `rollup_inserted_rows`."""
    with _cache_for(len(rows)):
        bulk.insert_rows(LearningEvent, names, rows)
        rollup_inserted_rows(names=names, rows=rows, people_checked=people_checked)


def insert_event_columns(
    *,
    constants: dict[str, Any],
    people: list[int],
    data: list[Any],
    data_template: str | None = None,
    people_checked: bool = False,
) -> None:
    """`insert_event_rows` for one batch of events that differ only in their person and their
    `data` (JSON text): expanded by the database (`bulk.insert_columns`), and folded into the
    rollups from the same values. With `data_template` (JSON text with one `%s`), `data` holds
    what the database puts in its place (an enrolment id). `constants`: every other column by
    attname (tenant_id, verb, object_type, occurred_at, and object_id / course_id if any). Not
    for passes, whose attempt number is read from each event's data."""
    if constants["verb"] == Verb.PASSED:
        raise ValueError("passes carry their own attempt number: use insert_event_rows")
    tenant_id = constants["tenant_id"]
    if not people_checked:
        _check_people({(tenant_id, pid) for pid in people})
    with _cache_for(len(people)):
        bulk.insert_columns(
            LearningEvent,
            constants,
            {"person_id": people, "data": data},
            templates={"data": data_template} if data_template is not None else None,
        )
        verb, at = constants["verb"], constants["occurred_at"]
        object_id, course_id = constants.get("object_id"), constants.get("course_id")
        rollups.apply_events(
            (tenant_id, pid, verb, object_id, course_id, at, None) for pid in people
        )


def rollup_inserted_rows(
    *, names: list[str], rows: list[tuple[Any, ...]], people_checked: bool = False
) -> None:
    """Bring the rollups up to date with LearningEvent rows another app inserted itself with
    `uptake.core.bulk.insert_rows(LearningEvent, names, rows)` (same transaction). `occurred_at`
    must be a datetime; `data` a dict or its JSON text. ValueError if a row's person is not a
    person of its tenant: the caller's transaction must then roll back (ADR 0032).
    `people_checked`: the caller wrote, in this transaction, rows with a database-checked key
    to the same people of the same tenant (enrolments): the check would read them again (280
    such reads were 4.7 s of a 100,000-people recompute on PostgreSQL)."""
    index = {n: i for i, n in enumerate(names)}
    if not people_checked:
        _check_people({(r[index["tenant"]], r[index["person"]]) for r in rows})
    at = [index.get(n) for n in ("tenant", "person", "verb", "object_id", "course_id")]
    when = index["occurred_at"]
    data = index.get("data")

    # The fold's fields in one C call per row (a column the rows lack reads as None); the
    # attempt number counts only for a pass (fold.fold), None for the others as the rebuild
    # reads them.
    fields = (*at, when)
    get: Callable[[tuple[Any, ...]], tuple[Any, ...]]
    if None in fields:
        padded = operator.itemgetter(*(len(names) if i is None else i for i in fields))

        def get(row: tuple[Any, ...]) -> tuple[Any, ...]:
            return padded((*row, None))  # type: ignore[no-any-return]
    else:
        get = operator.itemgetter(*fields)
    verb = at[2]
    events: Iterable[tuple[Any, ...]]
    if verb is None or not any(r[verb] == Verb.PASSED for r in rows):
        events = ((*get(r), None) for r in rows)
    else:

        def attempt(row: tuple[Any, ...]) -> int | None:
            if row[verb] != Verb.PASSED:
                return None
            return rollups._attempt(None if data is None else row[data])

        events = ((*get(r), attempt(r)) for r in rows)
    rollups.apply_events(events)


def sync_due_dates(*, tenant_id: int, pairs: list[tuple[int, int]]) -> int:
    """Bring the analytics copy of due dates (CourseFact.due_at and the assignment cells) in
    line with the enrolments of these (person, course) pairs. A due date is not an event, so
    enrolment services call this in the transaction that changes one (a new or re-activated
    enrolment's "assigned" event copies it as it is written). Reads the enrolment's current
    due date, so calling it twice converges. Returns how many pairs changed."""
    with transaction.atomic():
        return rollups.sync_due_dates(tenant_id=tenant_id, pairs=pairs)


def sync_people(*, tenant_id: int, person_ids: list[int] | tuple[int, ...]) -> int:
    """Move people whose department, location, manager, hire date or active flag changed
    between the dimension cells (ADR 0017), in one transaction. Reads the people's current
    attributes, so calling it twice converges. Returns how many people moved."""
    return rollups.sync_people(tenant_id=tenant_id, person_ids=person_ids)


def new_event(
    *,
    tenant_id: int,
    person_id: int,
    verb: str,
    object_type: str,
    object_id: int | None,
    course_id: int | None = None,
    value: float | None = None,
    occurred_at: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
) -> LearningEvent:
    """An unsaved event for `record_events` (same arguments as `record_event`)."""
    _check_verb(verb)
    return LearningEvent(
        tenant_id=tenant_id,
        person_id=person_id,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        course_id=course_id,
        value=value,
        occurred_at=occurred_at or clock.now(),
        data=data or {},
    )


def remind(
    *,
    actor: Actor,
    scope: Scope,
    metric: str,
    message: str = "",
    now: dt.datetime | None = None,
) -> int:
    """Remind, by in-app notification and email (through the outbox), everyone behind a
    drill-down number, e.g. everyone not started. At most one such reminder per person, metric
    and day (idempotency keys), so a double click sends nothing twice. Returns how many people
    were newly reminded. The caller has checked that the actor may see `scope`."""
    from django.utils.translation import gettext as _

    from uptake.analytics import selectors
    from uptake.core.errors import ValidationFailed
    from uptake.notifications import services as notifications

    if metric not in selectors.DRILL_METRICS or metric in ("completed", "assigned", "started"):
        raise ValidationFailed(
            _("Reminders go to people with something left to do (not started, overdue...).")
        )
    now = now or clock.now()
    person_ids = selectors.drill_person_ids(scope=scope, metric=metric, now=now)
    text = message.strip() or _(
        "You have learning waiting for you. Open My learning to continue where you left off."
    )
    import hashlib

    described = "|".join(f"{k}={v}" for k, v in sorted(scope.as_params().items()))
    key = hashlib.sha256(described.encode()).hexdigest()[:16]
    return notifications.notify(
        tenant_id=scope.tenant_id,
        person_ids=person_ids,
        kind="reminder",
        title=_("A reminder about your learning"),
        body=text,
        url="/",
        idempotency_key_prefix=f"analytics-remind:{now.date()}:{metric}:{key}:{actor.person_id}",
    )
