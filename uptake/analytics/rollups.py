"""Writes of the rollup tables: merge a folded batch of events into the stored rows.

Called by `services.record_event` / `record_events` inside the change's transaction, and by
`rebuild` (the `rebuild_analytics` command). Plain parameterised upserts (INSERT ... ON
CONFLICT ... DO UPDATE), the same SQL on SQLite (>= 3.35) and PostgreSQL; identifiers come from
model metadata, never from input.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, Value, When
from django.db.models.fields.json import KT

from uptake.analytics import fold
from uptake.analytics.models import (
    ActiveCount,
    ActivePeriod,
    CheckFact,
    CourseFact,
    DailyCount,
    LearningEvent,
    PersonFact,
)

_ROWS_PER_STATEMENT = 200  # multi-row VALUES with RETURNING (4 parameters a row)


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _dt(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _date(value: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def datetime_writer() -> Any:
    """A function giving the database value of an aware datetime for plain INSERTs: on SQLite
    the text Django stores (UTC, no offset), made without the field machinery; elsewhere the
    datetime itself."""
    if connection.vendor != "sqlite":
        return lambda value: value
    utc = dt.UTC

    def to_text(value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        return str(value.astimezone(utc).replace(tzinfo=None))

    return to_text


class _Adapt:
    """Database values for dates and times, converted once per distinct value."""

    def __init__(self) -> None:
        ops = connection.ops
        self._datetime = ops.adapt_datetimefield_value
        self._date = ops.adapt_datefield_value
        self._cache: dict[Any, Any] = {None: None}

    def moment(self, value: dt.datetime | None) -> Any:
        try:
            return self._cache[value]
        except KeyError:
            out = self._cache[value] = self._datetime(value)
            return out

    def day(self, value: dt.date | None) -> Any:
        key = ("d", value)
        try:
            return self._cache[key]
        except KeyError:
            out = self._cache[key] = None if value is None else self._date(value)
            return out


def _merge_sql(table: str, column: str, how: str) -> str:
    t, c = _qn(table), _qn(column)
    new, old = f"excluded.{c}", f"{t}.{c}"
    if how == "sum":
        return f"{c} = {old} + {new}"
    if how == "keep":
        return f"{c} = COALESCE({old}, {new})"
    cmp = "<" if how == "min" else ">"
    return (
        f"{c} = CASE WHEN {new} IS NULL THEN {old} WHEN {old} IS NULL OR {new} {cmp} {old} "
        f"THEN {new} ELSE {old} END"
    )


def _upsert(
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    merges: Sequence[str],
    rows: list[list[Any]],
) -> None:
    if not rows:
        return
    names = [*key, *columns]
    cols = ", ".join(_qn(n) for n in names)
    marks = ", ".join(["%s"] * len(names))
    sets = ", ".join(_merge_sql(table, c, m) for c, m in zip(columns, merges, strict=True))
    conflict = ", ".join(_qn(k) for k in key)
    # Multi-row VALUES (each key once: `rows` are already folded by key): one statement per
    # few hundred rows instead of one round trip per row (PostgreSQL), far below SQLite's
    # limit on parameters.
    per = max(1, min(500, 30_000 // len(names)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            values = ", ".join([f"({marks})"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {_qn(table)} ({cols}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}",
                [value for row in chunk for value in row],
            )


def apply(delta: fold.Delta) -> None:
    """Merge `delta` into the rollups (call inside the transaction that wrote its events)."""
    adapt = _Adapt()
    if delta.course:
        _upsert(
            CourseFact._meta.db_table,
            ["tenant_id", "person_id", "course_id"],
            fold.COURSE_COLUMNS,
            fold.COURSE_MERGE,
            [[*k, *map(adapt.moment, vals)] for k, vals in sorted(delta.course.items())],
        )
    if delta.checks:
        _upsert(
            CheckFact._meta.db_table,
            ["tenant_id", "person_id", "activity_id"],
            fold.CHECK_COLUMNS,
            fold.CHECK_MERGE,
            [[*k, *vals] for k, vals in sorted(delta.checks.items())],
        )
    if delta.people:
        _upsert(
            PersonFact._meta.db_table,
            ["tenant_id", "person_id"],
            fold.PERSON_COLUMNS,
            fold.PERSON_MERGE,
            [
                [t, p, adapt.moment(a), adapt.day(aw), adapt.moment(s), adapt.day(sw)]
                for (t, p), (a, aw, s, sw) in sorted(delta.people.items())
            ],
        )
    if delta.active:
        _apply_active(sorted(delta.active), adapt)
    if delta.daily:
        _upsert(
            DailyCount._meta.db_table,
            ["tenant_id", "day", "course_id", "verb"],
            ["n"],
            ["sum"],
            [[t, adapt.day(d), c, v, n] for (t, d, c, v), n in sorted(delta.daily.items())],
        )


def _apply_active(keys: list[tuple[int, int, str, dt.date]], adapt: _Adapt) -> None:
    """Insert the new person-periods; count only those that were not there yet."""
    table = _qn(ActivePeriod._meta.db_table)
    cols = ", ".join(_qn(c) for c in ("tenant_id", "person_id", "grain", "start"))
    fresh: Counter[tuple[int, str, Any]] = Counter()
    with connection.cursor() as cursor:
        for begin in range(0, len(keys), _ROWS_PER_STATEMENT):
            batch = keys[begin : begin + _ROWS_PER_STATEMENT]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(batch))
            params: list[Any] = []
            for t, p, g, s in batch:
                params.extend((t, p, g, adapt.day(s)))
            cursor.execute(
                f"INSERT INTO {table} ({cols}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT DO NOTHING RETURNING tenant_id, grain, {_qn('start')}",
                params,
            )
            for t, g, s in cursor.fetchall():
                fresh[(t, g, s)] += 1
    if fresh:
        _upsert(
            ActiveCount._meta.db_table,
            ["tenant_id", "grain", "start"],
            ["people"],
            ["sum"],
            [[t, g, _date(_as_date(s)), n] for (t, g, s), n in sorted(fresh.items())],
        )


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def apply_events(events: Iterable[fold.Event | tuple[Any, ...]]) -> None:
    apply(fold.fold(events))


ROLLUP_MODELS = (CourseFact, CheckFact, PersonFact, ActivePeriod, ActiveCount, DailyCount)
REBUILD_CHUNK = 200_000


@transaction.atomic
def rebuild(*, tenant_id: int | None = None) -> int:
    """Drop the rollups (of one tenant, or all) and recompute them from LearningEvent, in
    chunks of events; returns how many events were read."""
    for model in ROLLUP_MODELS:
        qs = model.objects.all()  # type: ignore[attr-defined]
        if tenant_id is not None:
            qs = qs.filter(tenant_id=tenant_id)
        qs.delete()
    events = LearningEvent.objects.order_by("pk")
    if tenant_id is not None:
        events = events.filter(tenant_id=tenant_id)
    fields = ("pk", "tenant_id", "person_id", "verb", "object_id", "course_id", "occurred_at")
    # Only the attempt number is needed from `data`, and only for passes (read in the database,
    # not by decoding every row's JSON).
    events = events.annotate(
        attempt=Case(
            When(verb="passed", then=KT("data__attempt")),
            default=Value(None),
            output_field=CharField(),
        )
    )
    last = 0
    total = 0
    while True:
        chunk = list(events.filter(pk__gt=last).values_list(*fields, "attempt")[:REBUILD_CHUNK])
        if not chunk:
            return total
        last = chunk[-1][0]
        total += len(chunk)
        apply_events(
            (t, p, v, o, c, at, _number(attempt)) for _pk, t, p, v, o, c, at, attempt in chunk
        )


def _number(value: Any) -> int | None:
    if isinstance(value, float) or value is None:
        return None
    return fold.attempt_number(value if isinstance(value, int) else str(value))


def _attempt(data: Any) -> int | None:
    if isinstance(data, str) and '"attempt"' in data:
        data = json.loads(data)
    return fold.attempt_number(data.get("attempt") if isinstance(data, dict) else None)
