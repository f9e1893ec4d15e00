"""Writes of the rollup tables: merge a folded batch of events into the stored rows.

Called by `services.record_event` / `record_events` inside the change's transaction, and by
`rebuild` (the `rebuild_analytics` command). Plain parameterised upserts (INSERT ... ON
CONFLICT ... DO UPDATE), the same SQL on SQLite (>= 3.35) and PostgreSQL; identifiers come from
model metadata, never from input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import json
import re
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Value, When
from django.db.models.fields.json import KT

from uptake.analytics import fold
from uptake.analytics.models import (
    ActiveCount,
    ActivePeriod,
    AssignmentCell,
    CheckCell,
    CheckFact,
    CompletionCell,
    CourseFact,
    DailyCount,
    DimActiveCell,
    DimAssignmentCell,
    DimCheckCell,
    DimCompletionCell,
    DimDurationCell,
    DimRetentionCell,
    DurationCell,
    LearningEvent,
    PendingRollup,
    PersonDims,
    PersonFact,
    RetentionCell,
)
from uptake.core import bulk

_ROWS_PER_STATEMENT = 200  # multi-row VALUES with RETURNING (4 parameters a row)
_COURSE_KEY = ("tenant_id", "person_id", "course_id")
_CHECK_KEY = ("tenant_id", "person_id", "activity_id")
_CHECK_ZEROS = ("attempts", "passes")  # CheckFact counters (0 in a placeholder row)


# Quoted identifiers, made once per name: the write path builds its statements per batch, and
# every `connection.ops` lookup goes through a context-local proxy. SQLite and PostgreSQL quote
# alike (double quotes), so one cache serves both.
_QUOTED: dict[str, str] = {}


def _qn(name: str) -> str:
    quoted = _QUOTED.get(name)
    if quoted is None:
        quoted = _QUOTED[name] = connection.ops.quote_name(name)
    return quoted


class _Queue(threading.local):
    """PostgreSQL, during `apply`: writes nobody reads a result of, held back and sent in one
    round trip with the next read (or at the end of `apply`), as one multi-statement execute.
    A single event's rollups were ten statements and ten round trips."""

    pending: list[tuple[str, Sequence[Any]]] | None = None
    params: int = 0
    # Statements `_prefetch` already ran: writes not to send again, reads' rows to hand out.
    sent: set[tuple[str, tuple[Any, ...]]] | None = None
    ready: dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]] | None = None
    cursor: Any = None  # one cursor for every statement of the `apply`


@contextlib.contextmanager
def _cursor() -> Iterator[Any]:
    """The `apply`'s cursor while queueing, else a new one."""
    if _queue.cursor is not None:
        yield _queue.cursor
        return
    with connection.cursor() as cursor:
        yield cursor


_queue = _Queue()
_QUEUE_PARAMS = 20_000  # sent once this many parameters wait (bulk batches)
_JOIN_PARAMS = 500  # up to this many, a send is bound as one text (see `_execute_all`)


def _send(cursor: Any, sql: str, params: Sequence[Any]) -> None:
    """Execute a write whose result is not read; queued while `apply` runs on PostgreSQL."""
    pending = _queue.pending
    if pending is None:
        cursor.execute(sql, _bind(params))
        return
    if _queue.sent and _key(sql, params) in _queue.sent:
        return
    pending.append((sql, params))
    _queue.params += _weight(params)
    if _queue.params >= _QUEUE_PARAMS:
        _run_queue(cursor)


def _key(sql: str, params: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """A statement as a dictionary key (array parameters, lists, as tuples)."""
    return sql, tuple(tuple(p) if isinstance(p, list) else p for p in params)


def _weight(params: Sequence[Any]) -> int:
    """How many values a statement binds (an array parameter counts its elements)."""
    return sum(len(p) if isinstance(p, list) else 1 for p in params)


def _bind(params: Sequence[Any]) -> Sequence[Any]:
    """The parameters as sent: an array parameter (a list, for `%s::type[]`) as the text of its
    array literal, written with a join per column, where psycopg dumped and regex-checked every
    element (a fifth of a bulk batch's rollup time)."""
    if not any(type(p) is list for p in params):
        return params
    return [bulk._array_text(p) if type(p) is list else p for p in params]


def _fetch(cursor: Any, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Execute a read (after the queued writes, in the same round trip) and return its rows."""
    if _queue.ready:
        rows = _queue.ready.pop(_key(sql, params), None)
        if rows is not None:
            return rows
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        return cursor.fetchall()
    if not _queue.pending:
        _execute_all(cursor, [(sql, params)])  # (prepared when small)
        return cursor.fetchall()
    return _run_queue(cursor, (sql, params))


def _run_queue(cursor: Any, read: tuple[str, Sequence[Any]] | None = None) -> list[tuple[Any, ...]]:
    """Send the queued writes (then `read`) as one execute; the rows of `read`."""
    statements = list(_queue.pending or ())
    if read is not None:
        statements.append(read)
    _queue.params = 0
    if _queue.pending:
        _queue.pending.clear()
    if not statements:
        return []
    _execute_all(cursor, statements)
    if read is None:
        return []
    for _ in range(len(statements) - 1):
        cursor.nextset()
    return cursor.fetchall()


def _execute_all(cursor: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """Run the statements as one simple query (client-side binding: Django's default psycopg
    cursor). A few statements (a single event's) are joined and bound at once. Larger sends
    (bulk batches) are bound statement by statement and the joined text goes without
    parameters: psycopg parses a long query's placeholders afresh each time, and the cost of
    that parse grew faster than the text (bulk writes were 40 % slower when joined first)."""
    if sum(_weight(params) for _sql, params in statements) <= _JOIN_PARAMS:
        statements = _prepared(cursor, statements)
        try:
            if len(statements) == 1:
                cursor.execute(*statements[0])
            else:
                joined = "; ".join(s for s, _p in statements)
                cursor.execute(joined, [v for _s, p in statements for v in p])
        except Exception as error:
            if getattr(error.__cause__, "sqlstate", None) != "26000":  # invalid statement name
                raise
            _PREPARED.pop(connection.connection, None)
            raise RuntimeError(
                "A prepared statement of the analytics rollups is missing on this database "
                "connection: a pooler that does not keep session state (PgBouncer in "
                "transaction mode) is in front of PostgreSQL. Set "
                "UPTAKE_PREPARED_STATEMENTS=false (docs/deploy.md)."
            ) from error
    else:
        cursor.execute("; ".join(cursor.mogrify(sql, _bind(params)) for sql, params in statements))


# PostgreSQL, per connection: the SQL of a small rollup statement -> the name it is prepared
# under. A single event's statements are a handful of shapes sent again and again; planned
# afresh each time they cost the server 0.5 ms an event (EXPLAIN's planning time, at 10M).
_PREPARED: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_PREPARED_MAX = 256  # shapes per connection; beyond, statements are sent as they are
# Shapes met once per connection, prepared only when met again: an HR change's statements
# (IN lists and VALUES of its own lengths) are mostly met once, and preparing each cost a
# round trip (one person's change on PostgreSQL 48 -> 73 ms when every shape was prepared).
_SEEN: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_SEEN_MAX = 4096
_names = itertools.count(1)
_PLACEHOLDER = re.compile(r"%[s%]")


def _prepared(cursor: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
    """The statements as `EXECUTE name(params)` of statements prepared on this connection,
    preparing the new shapes first (one round trip, the first time a connection sees them).
    Prepared statements outlive transactions, rolled back or not. When a PREPARE fails (or an
    EXECUTE finds its statement gone, `_execute_all`), the connection's names are forgotten and
    later ones are new (process-wide counter), never meeting one the server may still hold."""
    if not settings.UPTAKE_PREPARED_STATEMENTS:
        return [(sql, _bind(params)) for sql, params in statements]
    raw = connection.connection
    known = _PREPARED.get(raw)
    if known is None:
        known = _PREPARED[raw] = {}
    seen = _SEEN.get(raw)
    if seen is None:
        seen = _SEEN[raw] = set()
    out: list[tuple[str, Sequence[Any]]] = []
    new: dict[str, str] = {}
    for sql, params in statements:
        name = known.get(sql) or new.get(sql)
        if name is None:
            if (
                not params
                or any(type(p) is list for p in params)
                or len(known) + len(new) >= _PREPARED_MAX
                or sql not in seen  # prepared when met again: a shape met once costs nothing
            ):
                if params and len(seen) < _SEEN_MAX:
                    seen.add(sql)
                out.append((sql, _bind(params)))
                continue
            name = new[sql] = f"uptake_rollup_{next(_names)}"
        marks = f"({', '.join(['%s'] * len(params))})" if params else ""
        out.append((f"EXECUTE {name}{marks}", params))
    if new:
        prepare = "; ".join(f"PREPARE {name} AS {_numbered(sql)}" for sql, name in new.items())
        try:
            # On the driver's cursor, under Django's: a cache warming like psycopg's own
            # automatic preparing, not a statement of the work (query counts stay the same).
            getattr(cursor, "cursor", cursor).execute(prepare)  # no parameters: sent as is
        except Exception:
            _PREPARED.pop(raw, None)
            raise
        known.update(new)
    return out


def _numbered(sql: str) -> str:
    """`sql` with PostgreSQL's numbered parameters ($1, $2...) for psycopg's %s (and %% as %)."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: f"${next(numbers)}" if m[0] == "%s" else "%", sql)


def queues_statements() -> bool:
    """Whether `apply` sends its statements together (PostgreSQL, client-side binding)."""
    import psycopg

    if connection.vendor != "postgresql":
        return False
    connection.ensure_connection()
    return issubclass(connection.connection.cursor_factory, psycopg.ClientCursor)


def _queueing() -> Any:
    """Queue writes for the duration (PostgreSQL with client-side binding; else nothing)."""
    if _queue.pending is not None or not queues_statements():
        return contextlib.nullcontext()
    return _queued()


@contextlib.contextmanager
def _queued() -> Iterator[None]:
    _queue.pending, _queue.params, _queue.sent, _queue.ready = [], 0, set(), {}
    try:
        with connection.cursor() as cursor:
            _queue.cursor = cursor
            yield
            if _queue.pending:
                _run_queue(cursor)
    finally:
        _queue.pending, _queue.params, _queue.sent, _queue.ready = None, 0, None, None
        _queue.cursor = None


def _prefetch(statements: list[tuple[str, list[Any], bool]]) -> None:
    """Run the queued writes, then `statements` (sql, parameters, whether its rows are read),
    in one round trip (while queueing; else nothing). The later `_send` of one of these writes
    is skipped and the `_fetch` of one of these reads gets its rows. They run in the order
    given, so row locks are taken in the usual order."""
    pending, sent, ready = _queue.pending, _queue.sent, _queue.ready
    if pending is None or sent is None or ready is None or not statements:
        return
    queued = list(pending)
    pending.clear()
    _queue.params = 0
    every = [*queued, *((sql, params) for sql, params, _r in statements)]
    with _cursor() as cursor:
        _execute_all(cursor, every)
        for _ in queued:
            cursor.nextset()
        for i, (sql, params, read) in enumerate(statements):
            if i:
                cursor.nextset()
            key = _key(sql, params)
            if read:
                ready.setdefault(key, cursor.fetchall())
            else:
                sent.add(key)


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
        self._moments: dict[Any, Any] = {None: None}
        self._days: dict[Any, Any] = {None: None}

    def moment(self, value: dt.datetime | None) -> Any:
        out = self._moments.get(value, self)
        if out is self:
            out = self._moments[value] = self._datetime(value)
        return out

    def day(self, value: dt.date | None) -> Any:
        out = self._days.get(value, self)
        if out is self:
            out = self._days[value] = self._date(value)
        return out


def _merge_sql(table: str, column: str, how: str) -> str:
    t, c = _qn(table), _qn(column)
    new, old = f"excluded.{c}", f"{t}.{c}"
    if how == "sum":
        return f"{c} = {old} + {new}"
    if how == "keep":
        return f"{c} = COALESCE({old}, {new})"
    if how == "set":
        return f"{c} = {new}"
    cmp = "<" if how == "min" else ">"
    return (
        f"{c} = CASE WHEN {new} IS NULL THEN {old} WHEN {old} IS NULL OR {new} {cmp} {old} "
        f"THEN {new} ELSE {old} END"
    )


@functools.lru_cache(maxsize=256)
def _upsert_sql(
    table: str,
    key: tuple[str, ...],
    columns: tuple[str, ...],
    merges: tuple[str, ...],
    rows: int,
) -> str:
    """INSERT ... ON CONFLICT DO UPDATE of `rows` rows (a handful of shapes: made once)."""
    names = [*key, *columns]
    cols = ", ".join(_qn(n) for n in names)
    marks = "(" + ", ".join(["%s"] * len(names)) + ")"
    sets = ", ".join(_merge_sql(table, c, m) for c, m in zip(columns, merges, strict=True))
    conflict = ", ".join(_qn(k) for k in key)
    return (
        f"INSERT INTO {_qn(table)} ({cols}) VALUES {', '.join([marks] * rows)} "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
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
    shape = (table, tuple(key), tuple(columns), tuple(merges))
    with _cursor() as cursor:
        if connection.vendor == "sqlite":
            # In-process: one statement compiled once and stepped per row beats compiling a
            # multi-row VALUES for every batch length.
            cursor.executemany(_upsert_sql(*shape, 1), rows)
            return
        for sql, params in _upsert_statements(*shape, rows):
            _send(cursor, sql, params)


def _upsert_statements(
    table: str,
    key: tuple[str, ...],
    columns: tuple[str, ...],
    merges: tuple[str, ...],
    rows: list[list[Any]],
) -> list[tuple[str, list[Any]]]:
    """PostgreSQL: one INSERT ... SELECT FROM unnest(arrays) ... ON CONFLICT per table (each
    key once: `rows` are already folded by key), a parameter per column whatever the number of
    rows. Multi-row VALUES cost the client a parse of every placeholder and the server a parse
    of every literal: an unnest of 16,000 rows is about half the time, a quarter of the client
    CPU (ADR 0031)."""
    if not rows:
        return []
    if not _unnests(len(rows)):  # a single event's few rows, as before
        return [
            (
                _upsert_sql(table, key, columns, merges, len(rows)),
                [v for row in rows for v in row],
            )
        ]
    return _unnest_statements(_unnest_upsert_sql(table, key, columns, merges), rows)


_UNNEST_ROWS = 20_000  # rows per unnest statement (the queue sends at _QUEUE_PARAMS values)
_VALUES_ROWS = 50  # up to this many rows, a multi-row VALUES (a single event's upserts)


def _unnests(rows: int) -> bool:
    """Whether a PostgreSQL write of this many rows goes through unnest(arrays) (ADR 0031)."""
    return rows > _VALUES_ROWS and connection.vendor == "postgresql"


def _unnest(table: str, names: Sequence[str]) -> str:
    """`unnest(%s::type[], ...)` of these columns of a rollup table, one array a column."""
    types = _array_types(table)
    return f"unnest({', '.join(f'%s::{types[n]}' for n in names)})"


def _unnest_statements(sql: str, rows: Sequence[Sequence[Any]]) -> list[tuple[str, list[Any]]]:
    """`sql` (one `_unnest` in it) with `rows` as its arrays, _UNNEST_ROWS rows a statement."""
    return [
        (sql, [list(column) for column in zip(*rows[start : start + _UNNEST_ROWS], strict=True)])
        for start in range(0, len(rows), _UNNEST_ROWS)
    ]


@functools.lru_cache(maxsize=256)
def _unnest_upsert_sql(
    table: str, key: tuple[str, ...], columns: tuple[str, ...], merges: tuple[str, ...]
) -> str:
    names = [*key, *columns]
    cols = ", ".join(_qn(n) for n in names)
    sets = ", ".join(_merge_sql(table, c, m) for c, m in zip(columns, merges, strict=True))
    conflict = ", ".join(_qn(k) for k in key)
    return (
        f"INSERT INTO {_qn(table)} ({cols}) SELECT * FROM {_unnest(table, names)} "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
    )


@functools.lru_cache(maxsize=64)
def _array_types(table: str) -> dict[str, str]:
    """Column name -> PostgreSQL array type (e.g. "bigint[]") of a rollup table's columns."""
    for model in ROLLUP_MODELS:
        if model._meta.db_table == table:  # type: ignore[attr-defined]
            return {
                str(f.column): f"{f.db_type(connection)}[]"
                for f in model._meta.concrete_fields  # type: ignore[attr-defined]
            }
    raise LookupError(f"not a rollup table: {table}")


def apply(
    delta: fold.Delta, *, cells: bool = True, lead: tuple[str, list[Any]] | None = None
) -> list[tuple[Any, ...]]:
    """Merge `delta` into the rollups (call inside the transaction that wrote its events).
    `cells=False` (the rebuild, which computes the cells at the end) merges CourseFact blindly
    and leaves the second-level cells alone. `lead`: a statement run first (on PostgreSQL in
    the same round trip as the first reads; `record_event` inserts its event so), whose rows
    are returned."""
    _dims_cache.value = {}
    try:
        with _queueing():
            return _apply(delta, cells=cells, lead=lead)
    finally:
        _dims_cache.value = None


def _apply(
    delta: fold.Delta, *, cells: bool, lead: tuple[str, list[Any]] | None = None
) -> list[tuple[Any, ...]]:
    adapt = _Adapt()
    lead_rows: list[tuple[Any, ...]] = []
    if cells and _queue.ready is not None:
        people = _delta_people(delta)
        # The DailyCount sums need no read: they go in the same round trip (so an event that
        # changes nothing else costs one round trip, not two).
        daily = [(sql, p, False) for sql, p in _upsert_statements(*_daily_upsert(delta, adapt))]
        first = [(lead[0], lead[1], True)] if lead is not None else []
        _prefetch([*first, *_first_statements(delta, adapt), *_dims_reads(people), *daily])
        if lead is not None:
            lead_rows = _queue.ready.pop(_key(*lead), [])
        if _dims_cache.value is not None:  # the people's dimensions, read in that round trip
            _dims_cache.value.update(_stored_dims(people, suffix=" FOR SHARE"))
    elif lead is not None:
        with _cursor() as cursor:
            lead_rows = _fetch(cursor, *lead)
    if delta.course and cells:
        _apply_course(delta.course, adapt)
    elif delta.course:
        _upsert(
            CourseFact._meta.db_table,
            ["tenant_id", "person_id", "course_id"],
            fold.COURSE_COLUMNS,
            fold.COURSE_MERGE,
            [[*k, *map(adapt.moment, vals)] for k, vals in sorted(delta.course.items())],
        )
    if delta.checks and cells:
        _apply_checks(delta.checks)
    elif delta.checks:
        _upsert(
            CheckFact._meta.db_table,
            ["tenant_id", "person_id", "activity_id"],
            fold.CHECK_COLUMNS,
            fold.CHECK_MERGE,
            [[*k, *vals] for k, vals in sorted(delta.checks.items())],
        )
    if not cells:
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
    elif delta.people or delta.active:
        _apply_people(delta, adapt)
    if delta.daily:
        _upsert(*_daily_upsert(delta, adapt))
    return lead_rows


def _daily_upsert(delta: fold.Delta, adapt: _Adapt) -> tuple[Any, ...]:
    """`_upsert` arguments of the DailyCount rows of `delta`."""
    return (
        DailyCount._meta.db_table,
        ("tenant_id", "day", "course_id", "verb"),
        ("n",),
        ("sum",),
        [[t, adapt.day(d), c, v, n] for (t, d, c, v), n in sorted(delta.daily.items())],
    )


def _first_statements(delta: fold.Delta, adapt: _Adapt) -> list[tuple[str, list[Any], bool]]:
    """PostgreSQL: the statements `_apply` runs before it can merge anything (placeholders and
    locked reads of CourseFact, CheckFact and PersonFact, the active-period inserts), in its
    order, for `_prefetch` to send in one round trip."""
    out: list[tuple[str, list[Any], bool]] = []

    def add(writes: list[tuple[str, list[Any]]], reads: list[tuple[str, list[Any]]]) -> None:
        out.extend((sql, params, False) for sql, params in writes)
        out.extend((sql, params, True) for sql, params in reads)

    if delta.course:
        keys = sorted(delta.course)
        add(
            _placeholder_statements(CourseFact._meta.db_table, _COURSE_KEY, keys),
            _rows_statements(*_facts_read(keys, lock=True)),
        )
    if delta.checks:
        keys = sorted(delta.checks)
        add(
            _placeholder_statements(CheckFact._meta.db_table, _CHECK_KEY, keys, zeros=_CHECK_ZEROS),
            _rows_statements(*_checks_read(keys, lock=True)),
        )
    if delta.people or delta.active:
        add(*_people_statements(_people_keys(delta), lock=True))
    if delta.active:
        add([], _active_statements(sorted(delta.active), adapt))
    return out


def _delta_people(delta: fold.Delta) -> set[tuple[int, int]]:
    return {
        *((t, p) for t, p, _c in delta.course),
        *((t, p) for t, p, _a in delta.checks),
        *delta.people,
        *((t, p) for t, p, _g, _s in delta.active),
    }


def _dims_reads(people: set[tuple[int, int]]) -> list[tuple[str, list[Any], bool]]:
    """PostgreSQL: the reads of these people's PersonDims copies (FOR SHARE, as `person_dims`
    takes them: after the rows `_first_statements` locks, as before)."""
    return [(sql, params, True) for sql, params in _dims_statements(people, " FOR SHARE")]


# --- CheckFact and its cells ----------------------------------------------------------------------


def _read_checks(keys: list[tuple[int, int, int]], *, lock: bool) -> dict[Any, list[Any]]:
    """The stored CheckFact rows (CHECK_COLUMNS values) of `keys`."""
    return dict(_rows_of(*_checks_read(keys, lock=lock)))


def _checks_read(keys: list[tuple[int, int, int]], *, lock: bool) -> tuple[Any, ...]:
    cols = ", ".join(_qn(c) for c in ("person_id", "activity_id", *fold.CHECK_COLUMNS))
    return CheckFact._meta.db_table, cols, keys, " FOR UPDATE" if lock else ""


def _apply_checks(checks: dict[tuple[int, int, int], list[Any]]) -> None:
    """Read the touched CheckFact rows, merge, write back those that changed, and move their
    contributions between the CheckCells (PostgreSQL: the rows locked first, as CourseFact's
    in `_apply_course`, so that concurrent writers of one pair count it once)."""
    keys = sorted(checks)
    pg = connection.vendor == "postgresql"
    if pg:
        _placeholders(CheckFact._meta.db_table, _CHECK_KEY, keys, zeros=_CHECK_ZEROS)
    stored = _read_checks(keys, lock=pg)
    writes: list[tuple[tuple[int, int, int], list[Any]]] = []
    for key in keys:
        old = stored.get(key)
        new = checks[key] if old is None else fold.merge_values(old, checks[key], fold.CHECK_MERGE)
        if new != old:
            writes.append((key, new))
    if not writes:
        return
    _upsert(
        CheckFact._meta.db_table,
        ["tenant_id", "person_id", "activity_id"],
        fold.CHECK_COLUMNS,
        ["set"] * len(fold.CHECK_COLUMNS),
        [[*key, *row] for key, row in writes],
    )
    dims = person_dims({(t, p) for (t, p, _a), _row in writes})
    _apply_check_cells(
        fold.check_cell_changes(
            (t, a, dims[(t, p)], dims[(t, p)], stored.get((t, p, a)), row)
            for (t, p, a), row in writes
        )
    )


def _apply_check_cells(
    changes: tuple[
        dict[tuple[int, int, int], list[int]], dict[tuple[int, str, str, int, int], list[int]]
    ],
) -> None:
    cells, dim_cells = changes
    _upsert(
        CheckCell._meta.db_table,
        ["tenant_id", "course_id", "activity_id"],
        fold.CHECK_CELL_COLUMNS,
        ["sum"] * len(fold.CHECK_CELL_COLUMNS),
        [[*k, *v] for k, v in sorted(cells.items())],
    )
    _upsert(
        DimCheckCell._meta.db_table,
        ["tenant_id", "kind", "value", "course_id", "activity_id"],
        fold.CHECK_CELL_COLUMNS,
        ["sum"] * len(fold.CHECK_CELL_COLUMNS),
        [[*k, *v] for k, v in sorted(dim_cells.items())],
    )


def rebuild_check_cells_sql(where: str = "", dim: str | None = None) -> str:
    """INSERT ... SELECT of every CheckCell from the CheckFact rows (`where`: a condition on
    them, e.g. one tenant), or with `dim` (a PersonDims column) of every dimension check cell
    of that column (its kind is the first parameter). The same sums as
    `fold.check_contribution`."""
    ck, pd = _qn(CheckFact._meta.db_table), _qn(PersonDims._meta.db_table)
    first = "COALESCE(ck.first_pass_attempt, ck.attempts - ck.passes + 1)"
    sums = (
        "COUNT(*), SUM(CASE WHEN ck.passes > 0 THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN ck.passes > 0 AND {first} = 1 THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN ck.passes > 0 THEN {first} ELSE 0 END)"
    )
    counters = ", ".join(fold.CHECK_CELL_COLUMNS)
    if dim is None:
        table, keys, join, group = _qn(CheckCell._meta.db_table), "", "", ""
    else:
        table = _qn(DimCheckCell._meta.db_table)
        keys = f"kind, {_qn('value')}, "
        join = f" JOIN {pd} pd ON pd.tenant_id = ck.tenant_id AND pd.person_id = ck.person_id"
        group = f"pd.{_qn(dim)}, "
    return (
        f"INSERT INTO {table} (tenant_id, {keys}course_id, activity_id, {counters}) "  # noqa: S608
        f"SELECT ck.tenant_id, {'%s, ' + group if dim else ''}COALESCE(ck.course_id, 0), "
        f"ck.activity_id, {sums} FROM {ck} ck{join} WHERE ck.attempts > 0{where} "
        f"GROUP BY ck.tenant_id, {group}COALESCE(ck.course_id, 0), ck.activity_id"
    )


# --- CourseFact and its cells (ADR 0014) ---------------------------------------------------------

_FACT_COLUMNS = (*fold.COURSE_COLUMNS, "due_at")
_IN_CHUNK = 500  # ids per IN (...) list


def _as_read(names: Iterable[str], prefix: str = "") -> str:
    """A select list of date and time columns read as `_py_moment` / `_as_date` take them: on
    SQLite their stored text, cast so that the driver's converters (a regular expression per
    value) are skipped; elsewhere the columns."""
    return _select_list(tuple(names), prefix, connection.vendor)


@functools.lru_cache(maxsize=64)
def _select_list(names: tuple[str, ...], prefix: str, vendor: str) -> str:
    if vendor == "sqlite":
        return ", ".join(f"CAST({prefix}{_qn(n)} AS TEXT)" for n in names)
    return ", ".join(f"{prefix}{_qn(n)}" for n in names)


def _py_moment(value: Any) -> dt.datetime | None:
    """A datetime read back from the database (SQLite gives its UTC text)."""
    if type(value) is str:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    if value is None or isinstance(value, dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def _by_tenant(keys: Iterable[tuple[int, int, int]]) -> dict[int, list[int]]:
    people: dict[int, set[int]] = {}
    for t, p, _c in keys:
        people.setdefault(t, set()).add(p)
    return {t: sorted(ps) for t, ps in people.items()}


def _rows_of(
    table: str, cols: str, keys: list[tuple[int, int, int]], suffix: str = ""
) -> Iterator[tuple[tuple[int, int, int], list[Any]]]:
    """(key, values) of the rows of `table` whose (tenant, person, third column) is one of
    `keys`: `cols` names the person, the third key column, then the values. Read by person
    (the tables' keys start with tenant and person), a few hundred people a statement."""
    wanted = set(keys)
    with _cursor() as cursor:
        for sql, params in _rows_statements(table, cols, keys, suffix):
            tenant_id = params[0]
            for p, c, *values in _fetch(cursor, sql, params):
                if (tenant_id, p, c) in wanted:
                    yield (tenant_id, p, c), values


def _rows_statements(
    table: str, cols: str, keys: Iterable[tuple[int, int, int]], suffix: str = ""
) -> list[tuple[str, list[Any]]]:
    """The SELECTs of `_rows_of` (tenant first in each one's parameters)."""
    table = _qn(table)
    out = []
    for tenant_id, people in _by_tenant(keys).items():
        for start in range(0, len(people), _IN_CHUNK):
            chunk = people[start : start + _IN_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            out.append(
                (
                    f"SELECT {cols} FROM {table} WHERE tenant_id = %s "  # noqa: S608
                    f"AND person_id IN ({marks}){suffix}",
                    [tenant_id, *chunk],
                )
            )
    return out


def _read_facts(keys: list[tuple[int, int, int]], *, lock: bool) -> dict[Any, list[Any]]:
    """The stored CourseFact rows (aware datetimes, COURSE_COLUMNS then due_at) of `keys`."""
    return {
        key: [_py_moment(v) for v in values]
        for key, values in _rows_of(*_facts_read(keys, lock=lock))
    }


def _facts_read(keys: list[tuple[int, int, int]], *, lock: bool) -> tuple[Any, ...]:
    cols = f"person_id, course_id, {_as_read(_FACT_COLUMNS)}"
    return CourseFact._meta.db_table, cols, keys, " FOR UPDATE" if lock else ""


def _enrollment_dues(keys: list[tuple[int, int, int]]) -> dict[Any, Any]:
    """Enrollment.due_at (aware) of the enrolments of `keys` that have one."""
    from uptake.enrollment.models import Enrollment

    if not keys:
        return {}
    cols = f"person_id, course_id, {_as_read(['due_at'])}"
    return {
        key: _py_moment(due)
        for key, (due,) in _rows_of(
            Enrollment._meta.db_table, cols, keys, " AND due_at IS NOT NULL"
        )
    }


def _placeholders(
    table: str,
    key: tuple[str, ...],
    keys: list[tuple[int, int, int]],
    zeros: tuple[str, ...] = (),
) -> None:
    """PostgreSQL: make sure a row exists for every key before reading them FOR UPDATE, so
    that two transactions writing the same new key queue on its row lock instead of both
    counting it as new. (SQLite runs one writer at a time.) `zeros`: counters, 0 at first."""
    with _cursor() as cursor:
        for sql, params in _placeholder_statements(table, key, keys, zeros):
            _send(cursor, sql, params)


def _placeholder_statements(
    table: str,
    key: tuple[str, ...],
    keys: Sequence[tuple[int, ...]],
    zeros: tuple[str, ...] = (),
) -> list[tuple[str, list[Any]]]:
    cols = ", ".join(_qn(c) for c in (*key, *zeros))
    if _unnests(len(keys)):
        select = ", ".join(["*"] + ["0"] * len(zeros))
        return _unnest_statements(
            f"INSERT INTO {_qn(table)} ({cols}) SELECT {select} "  # noqa: S608
            f"FROM {_unnest(table, key)} ON CONFLICT DO NOTHING",
            keys,
        )
    row = "(" + ", ".join(["%s"] * len(key) + ["0"] * len(zeros)) + ")"
    out = []
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        out.append(
            (
                f"INSERT INTO {_qn(table)} ({cols}) VALUES {', '.join([row] * len(chunk))} "  # noqa: S608
                "ON CONFLICT DO NOTHING",
                [v for k in chunk for v in k],
            )
        )
    return out


def _apply_course(course: dict[tuple[int, int, int], list[Any]], adapt: _Adapt) -> None:
    """Read the touched CourseFact rows, merge, write back only those that changed, and move
    their contributions between the cells."""
    keys = sorted(course)
    pg = connection.vendor == "postgresql"
    if pg:
        _placeholders(CourseFact._meta.db_table, _COURSE_KEY, keys)
    stored = _read_facts(keys, lock=pg)
    # The due date is read from the enrolment when a pair is new or (re)assigned; later changes
    # come through sync_due_dates (EnrollmentDueDateChanged).
    fresh_due = [k for k in keys if k not in stored or course[k][0] is not None]
    dues = _enrollment_dues(fresh_due)
    fresh = set(fresh_due)
    writes: list[tuple[tuple[int, int, int], list[Any]]] = []
    for key in keys:
        old = stored.get(key)
        if old is None:  # merging into nothing gives the batch's values
            merged = course[key]
            due = dues.get(key)
        else:
            merged = fold.merge_values(old[:6], course[key], fold.COURSE_MERGE)
            due = dues.get(key) if key in fresh else old[6]
        row = [*merged, due]
        if old is None or row != old:
            writes.append((key, row))
    _write_facts(writes, stored, adapt)


def _write_facts(
    writes: list[tuple[tuple[int, int, int], list[Any]]],
    stored: dict[Any, list[Any]],
    adapt: _Adapt,
) -> None:
    """Write changed CourseFact rows (aware datetimes) and move their cell contributions."""
    if not writes:
        return
    _upsert(
        CourseFact._meta.db_table,
        ["tenant_id", "person_id", "course_id"],
        _FACT_COLUMNS,
        ["set"] * len(_FACT_COLUMNS),
        [[*key, *map(adapt.moment, row)] for key, row in writes],
    )
    dims = person_dims({(t, p) for (t, p, _c), _row in writes})
    changes = (
        (t, c, dims[(t, p)], dims[(t, p)], stored.get((t, p, c)), row) for (t, p, c), row in writes
    )
    if len(writes) >= DIM_CELLS_IN_SQL:
        cells, by_dims = fold.cells_by_dims(changes)
        apply_cells(cells)
        _apply_dim_cells_in_sql(by_dims)
        return
    cells, dim_cells = fold.both_cell_changes(changes)
    apply_cells(cells)
    apply_dim_cells(dim_cells)


# From this many changed CourseFact rows (a batch job's: the audience recompute writes
# 27,000 a range), their dimension cells are spread and summed by the database.
DIM_CELLS_IN_SQL = 2000
_DELTA_TABLE = "uptake_dim_cell_delta"
_DELTA_COLUMNS = (
    ("cell", "text"),
    ("tenant_id", "bigint"),
    ("course_id", "bigint"),
    ("k1", "date"),  # assigned day ("a") or completion day ("c")
    ("k2", "date"),  # due day ("a")
    ("hours", "integer"),  # ("t")
    *((name, "text") for name in ("department", "location", "manager", "hire_month")),
    *((f"n{i}", "integer") for i in range(1, 6)),
)


def _apply_dim_cells_in_sql(by_dims: dict[tuple[fold.CellKey, tuple[str, ...]], list[int]]) -> None:
    """`apply_dim_cells` of these changes (see `fold.cells_by_dims`): written once into a
    temporary table, then spread over each dimension and summed into the dimension cells by
    one INSERT ... SELECT ... GROUP BY ... ON CONFLICT per cell table and dimension (ordered,
    so that concurrent writers lock cells in the same order)."""
    if not by_dims:
        return
    adapt = _Adapt()
    rows = []
    for ((cell, t, c, k1, k2), values), counters in by_dims.items():
        n = [*counters, 0, 0, 0, 0][:5]
        if cell == "t":
            rows.append([cell, t, c, None, None, k1, *values, *n])
        else:
            rows.append([cell, t, c, adapt.day(k1), adapt.day(k2), None, *values, *n])
    pg = connection.vendor == "postgresql"
    with _cursor() as cursor:
        columns = ", ".join(f"{name} {kind}" for name, kind in _DELTA_COLUMNS)
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_DELTA_TABLE} ({columns})")
        if pg:
            arrays = ", ".join(f"%s::{kind}[]" for _name, kind in _DELTA_COLUMNS)
            for start in range(0, len(rows), _UNNEST_ROWS):
                chunk = rows[start : start + _UNNEST_ROWS]
                _send(
                    cursor,
                    f"INSERT INTO {_DELTA_TABLE} SELECT * FROM unnest({arrays})",  # noqa: S608
                    [list(column) for column in zip(*chunk, strict=True)],
                )
        else:
            marks = ", ".join(["%s"] * len(_DELTA_COLUMNS))
            cursor.executemany(f"INSERT INTO {_DELTA_TABLE} VALUES ({marks})", rows)  # noqa: S608
        for sql in _dim_cells_from_delta_sql():
            _send(cursor, sql, [])
        # Emptied for the next batch (TRUNCATE on PostgreSQL: temporary tables are not
        # vacuumed, deleted rows would pile up for the session).
        _send(cursor, f"{'TRUNCATE' if pg else 'DELETE FROM'} {_DELTA_TABLE}", [])


@functools.cache
def _dim_cells_from_delta_sql() -> list[str]:
    """The INSERT ... SELECT ... GROUP BY ... ON CONFLICT of `_apply_dim_cells_in_sql`."""
    out = []
    tables = (  # (model, cell, its key columns, their delta columns, its counters)
        (
            DimAssignmentCell,
            "a",
            ("assigned_day", "due_day"),
            ("k1", "k2"),
            ("assigned", "started", "completed", "activated", "on_time"),
        ),
        (DimCompletionCell, "c", ("day",), ("k1",), ("n",)),
        (DimDurationCell, "t", ("hours",), ("hours",), ("n",)),
    )
    for model, cell, key_names, key_sources, names in tables:
        table = _qn(model._meta.db_table)
        sums = [f"SUM(n{i + 1})" for i in range(len(names))]
        for i, kind in enumerate(fold.DIM_KINDS):
            value = _DIM_COLUMNS[i]
            group = ", ".join(["tenant_id", value, "course_id", *key_sources])
            out.append(
                f"INSERT INTO {table} (tenant_id, kind, {_qn('value')}, course_id, "  # noqa: S608
                f"{', '.join(_qn(k) for k in key_names)}, {', '.join(_qn(n) for n in names)}) "
                f"SELECT tenant_id, '{kind}', {value}, course_id, {', '.join(key_sources)}, "
                f"{', '.join(sums)} FROM {_DELTA_TABLE} WHERE cell = '{cell}' GROUP BY {group} "
                f"HAVING {' OR '.join(f'{x} <> 0' for x in sums)} ORDER BY {group} "
                "ON CONFLICT (tenant_id, kind, "
                f"{_qn('value')}, course_id, {', '.join(_qn(k) for k in key_names)}) DO UPDATE SET "
                + ", ".join(_merge_sql(model._meta.db_table, n, "sum") for n in names)
            )
    return out


def apply_cells(changes: dict[fold.CellKey, list[int]]) -> None:
    """Add counter changes to the cells (sums, so any order and batching gives the same)."""
    adapt = _Adapt()
    rows: dict[str, list[list[Any]]] = {"a": [], "c": [], "t": []}
    for (kind, t, c, k1, k2), counters in sorted(changes.items(), key=lambda kv: str(kv[0])):
        if kind == "a":
            rows["a"].append([t, c, adapt.day(k1), adapt.day(k2), *counters])
        elif kind == "c":
            rows["c"].append([t, c, adapt.day(k1), *counters])
        else:
            rows["t"].append([t, c, k1, *counters])
    _upsert(
        AssignmentCell._meta.db_table,
        ["tenant_id", "course_id", "assigned_day", "due_day"],
        ["assigned", "started", "completed", "activated", "on_time"],
        ["sum"] * 5,
        rows["a"],
    )
    _upsert(
        CompletionCell._meta.db_table, ["tenant_id", "course_id", "day"], ["n"], ["sum"], rows["c"]
    )
    _upsert(
        DurationCell._meta.db_table, ["tenant_id", "course_id", "hours"], ["n"], ["sum"], rows["t"]
    )


def sync_due_dates(*, tenant_id: int, pairs: Iterable[tuple[int, int]]) -> int:
    """Copy the enrolments' current due dates into CourseFact and move the pairs between the
    cells (in the caller's transaction). Only pairs that have a CourseFact row (an event) are
    touched. Returns how many rows changed."""
    flush_held()
    keys = sorted({(tenant_id, p, c) for p, c in pairs})
    if not keys:
        return 0
    stored = _read_facts(keys, lock=connection.vendor == "postgresql")
    dues = _enrollment_dues(list(stored))
    writes = []
    for key, old in stored.items():
        row = [*old[:6], dues.get(key)]
        if row != old:
            writes.append((key, row))
    _write_facts(writes, stored, _Adapt())
    return len(writes)


def _rebuild_cells(*, tenant_id: int | None) -> None:
    """Due dates from the enrolments, then every cell from the CourseFact rows, and the
    retention cells from PersonFact and the active weeks."""
    from uptake.enrollment.models import Enrollment

    cf, enr = _qn(CourseFact._meta.db_table), _qn(Enrollment._meta.db_table)
    where, params = ("", []) if tenant_id is None else (" WHERE tenant_id = %s", [tenant_id])
    pf, ap = _qn(PersonFact._meta.db_table), _qn(ActivePeriod._meta.db_table)
    retention: Counter[tuple[int, str, dt.date, dt.date]] = Counter()
    with _cursor() as cursor:
        for kind, col in (("s", "first_active_week"), ("a", "first_assigned_week")):
            cond = "" if tenant_id is None else " WHERE pf.tenant_id = %s"
            cursor.execute(
                f"SELECT pf.tenant_id, pf.{col}, ap.{_qn('start')}, COUNT(*) FROM {pf} pf "  # noqa: S608
                f"JOIN {ap} ap ON ap.tenant_id = pf.tenant_id AND ap.person_id = pf.person_id "
                f"AND ap.grain = 'w' AND ap.{_qn('start')} >= pf.{col}{cond} "
                f"GROUP BY pf.tenant_id, pf.{col}, ap.{_qn('start')}",
                params,
            )
            for t, c, w, n in cursor.fetchall():
                retention[(t, kind, _as_date(c), _as_date(w))] += n
    apply_retention_cells(retention)
    with _cursor() as cursor:
        cursor.execute(
            rebuild_check_cells_sql("" if tenant_id is None else " AND ck.tenant_id = %s"), params
        )
    cols = ", ".join(_qn(c) for c in ("id", "tenant_id", "course_id", *_FACT_COLUMNS))
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {cf} SET due_at = (SELECT e.due_at FROM {enr} e "  # noqa: S608
            f"WHERE e.person_id = {cf}.person_id AND e.course_id = {cf}.course_id){where}",
            params,
        )
        last = 0
        while True:
            cond = " AND tenant_id = %s" if tenant_id is not None else ""
            cursor.execute(
                f"SELECT {cols} FROM {cf} WHERE id > %s{cond} ORDER BY id LIMIT %s",  # noqa: S608
                [last, *params, REBUILD_CHUNK],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            last = rows[-1][0]
            apply_cells(
                fold.cell_changes(
                    (t, c, None, [_py_moment(v) for v in values]) for _id, t, c, *values in rows
                )
            )


# --- PersonFact, active periods and the retention cells (ADR 0014) ------------------------------


def _read_people(keys: list[tuple[int, int]], *, lock: bool) -> dict[Any, list[Any]]:
    """Stored PersonFact rows (first active at, week, first assigned at, week) of `keys`."""
    wanted = set(keys)
    out: dict[Any, list[Any]] = {}
    writes, reads = _people_statements(keys, lock=lock)
    with _cursor() as cursor:
        for sql, params in writes:
            _send(cursor, sql, params)
        for sql, params in reads:
            tenant_id = params[0]
            for p, a, aw, s, sw in _fetch(cursor, sql, params):
                if (tenant_id, p) in wanted:
                    out[(tenant_id, p)] = [_py_moment(a), _py_date(aw), _py_moment(s), _py_date(sw)]
    return out


def _people_statements(
    keys: list[tuple[int, int]], *, lock: bool
) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, list[Any]]]]:
    """The writes (placeholders, when locking) and SELECTs of `_read_people`."""
    cols = f"person_id, {_as_read(fold.PERSON_COLUMNS)}"
    writes = (
        _placeholder_statements(PersonFact._meta.db_table, ("tenant_id", "person_id"), keys)
        if lock
        else []
    )
    by_tenant: dict[int, list[int]] = {}
    for t, p in keys:
        by_tenant.setdefault(t, []).append(p)
    table = _qn(PersonFact._meta.db_table)
    suffix = " FOR UPDATE" if lock else ""
    reads = []
    for tenant_id, people in by_tenant.items():
        for start in range(0, len(people), _IN_CHUNK):
            chunk = people[start : start + _IN_CHUNK]
            reads.append(
                (
                    f"SELECT {cols} FROM {table} WHERE tenant_id = %s "  # noqa: S608
                    f"AND person_id IN ({', '.join(['%s'] * len(chunk))}){suffix}",
                    [tenant_id, *chunk],
                )
            )
    return writes, reads


def _py_date(value: Any) -> dt.date | None:
    return None if value is None else _as_date(value)


def _active_weeks(keys: list[tuple[int, int]]) -> dict[tuple[int, int], list[dt.date]]:
    """Every week in which these people were active."""
    table = _qn(ActivePeriod._meta.db_table)
    out: dict[tuple[int, int], list[dt.date]] = {}
    by_tenant: dict[int, list[int]] = {}
    for t, p in keys:
        by_tenant.setdefault(t, []).append(p)
    with _cursor() as cursor:
        for tenant_id, people in by_tenant.items():
            for start in range(0, len(people), _IN_CHUNK):
                chunk = people[start : start + _IN_CHUNK]
                rows = _fetch(
                    cursor,
                    f"SELECT person_id, {_qn('start')} FROM {table} WHERE "  # noqa: S608
                    f"tenant_id = %s AND person_id IN ({', '.join(['%s'] * len(chunk))}) "
                    "AND grain = 'w'",
                    [tenant_id, *chunk],
                )
                for p, w in rows:
                    out.setdefault((tenant_id, p), []).append(_as_date(w))
    return out


def _people_keys(delta: fold.Delta) -> list[tuple[int, int]]:
    """The PersonFact rows `_apply_people` reads."""
    return sorted(set(delta.people) | {(t, p) for t, p, g, _s in delta.active if g == "w"})


def _apply_people(delta: fold.Delta, adapt: _Adapt) -> None:
    """PersonFact (read, merge, write what changed), the active periods, and the retention
    cells: a new active week adds the person to their cohorts' cells; a cohort week that
    moves (a backdated event) moves all their weeks."""
    keys = _people_keys(delta)
    stored = _read_people(keys, lock=connection.vendor == "postgresql")
    nothing: list[Any] = [None] * 4
    writes: list[list[Any]] = []
    cohorts: dict[tuple[int, int], tuple[list[Any], list[Any]]] = {}  # key -> (old, new)
    for key in keys:
        old = stored.get(key)
        base = old if old is not None and any(v is not None for v in old) else nothing
        new = delta.people.get(key)
        row = base if new is None else fold.merge_values(base, new, fold.PERSON_MERGE)
        if new is not None and row != base:
            t, p = key
            writes.append([t, p, *row])
        cohorts[key] = (base, row)
    _upsert(
        PersonFact._meta.db_table,
        ["tenant_id", "person_id"],
        fold.PERSON_COLUMNS,
        ["set"] * 4,
        [
            [t, p, adapt.moment(a), adapt.day(aw), adapt.moment(s), adapt.day(sw)]
            for t, p, a, aw, s, sw in writes
        ],
    )
    fresh = _apply_active(sorted(delta.active), adapt) if delta.active else set()
    if fresh:
        dims = person_dims({(t, p) for t, p, _g, _s in fresh})
        apply_dim_active(
            fold.dim_active_changes((t, dims[(t, p)], g, s, 1) for t, p, g, s in fresh)
        )
    fresh_weeks = {(t, p, s) for t, p, g, s in fresh if g == "w"}
    moved = [k for k, (old, new) in cohorts.items() if (old[1], old[3]) != (new[1], new[3])]
    # Someone without a PersonFact row had no event before this batch: their active weeks are
    # the new ones (no read needed, e.g. a batch of new assignments).
    known = [k for k in moved if cohorts[k][0] is not nothing]
    weeks = _active_weeks(known) if known else {}
    for t, p, w in fresh_weeks:
        if (t, p) in cohorts and cohorts[(t, p)][0] is nothing:
            weeks.setdefault((t, p), []).append(w)
    # Per person: (tenant, person, cohort kind, cohort week, week) -> +1 / -1.
    changes: Counter[tuple[int, int, str, dt.date, dt.date]] = Counter()
    moved_set = set(moved)
    for key, (old, new) in cohorts.items():
        t, p = key
        for kind, i in (("s", 1), ("a", 3)):
            if key in moved_set:
                every = weeks.get(key, [])
                if old[i] is not None:
                    for w in every:
                        if w >= old[i] and (t, p, w) not in fresh_weeks:
                            changes[(t, p, kind, old[i], w)] -= 1
                if new[i] is not None:
                    for w in every:
                        if w >= new[i]:
                            changes[(t, p, kind, new[i], w)] += 1
    # People whose cohorts did not move: each new active week of theirs joins their cohorts.
    for t, p, w in fresh_weeks:
        key = (t, p)
        if key in moved_set:
            continue
        row = cohorts.get(key, (nothing, nothing))[1]
        for kind, i in (("s", 1), ("a", 3)):
            if row[i] is not None and w >= row[i]:
                changes[(t, p, kind, row[i], w)] += 1
    _apply_person_retention(changes)


def _apply_person_retention(changes: Counter[tuple[int, int, str, dt.date, dt.date]]) -> None:
    """Person-level retention changes into the organisation's and the dimension cells."""
    total: Counter[tuple[int, str, dt.date, dt.date]] = Counter()
    for (t, _p, kind, c, w), n in changes.items():
        total[(t, kind, c, w)] += n
    apply_retention_cells(total)
    people = {(t, p) for (t, p, _k, _c, _w), n in changes.items() if n}
    if not people:
        return
    dims = person_dims(people)
    by_dim: Counter[tuple[int, str, str, str, dt.date, dt.date]] = Counter()
    for (t, p, kind, c, w), n in changes.items():
        if n:
            for dkind, i in fold.ACTIVE_KINDS:
                by_dim[(t, dkind, str(dims[(t, p)][i]), kind, c, w)] += n
    apply_dim_retention(by_dim)


def apply_dim_retention(changes: Counter[tuple[int, str, str, str, dt.date, dt.date]]) -> None:
    day = _Adapt().day
    _upsert(
        DimRetentionCell._meta.db_table,
        ["tenant_id", "kind", "value", "cohort_kind", "cohort_week", "week"],
        ["people"],
        ["sum"],
        [
            [t, k, v, ck, day(c), day(w), n]
            for (t, k, v, ck, c, w), n in sorted(changes.items())
            if n
        ],
    )


def apply_retention_cells(changes: Counter[tuple[int, str, dt.date, dt.date]]) -> None:
    day = _Adapt().day
    _upsert(
        RetentionCell._meta.db_table,
        ["tenant_id", "cohort_kind", "cohort_week", "week"],
        ["people"],
        ["sum"],
        [[t, kind, day(c), day(w), n] for (t, kind, c, w), n in sorted(changes.items()) if n],
    )


def _apply_active(
    keys: list[tuple[int, int, str, dt.date]], adapt: _Adapt
) -> set[tuple[int, int, str, dt.date]]:
    """Insert the new person-periods; count only those that were not there yet. Returns the
    new person-periods (tenant, person, grain, start)."""
    fresh: Counter[tuple[int, str, Any]] = Counter()
    periods: set[tuple[int, int, str, dt.date]] = set()
    with _cursor() as cursor:
        for sql, params in _active_statements(keys, adapt):
            for t, p, g, s in _fetch(cursor, sql, params):
                fresh[(t, g, s)] += 1
                periods.add((t, p, g, _as_date(s)))
    if fresh:
        _upsert(
            ActiveCount._meta.db_table,
            ["tenant_id", "grain", "start"],
            ["people"],
            ["sum"],
            [[t, g, adapt.day(_as_date(s)), n] for (t, g, s), n in sorted(fresh.items())],
        )
    return periods


def _active_statements(
    keys: list[tuple[int, int, str, dt.date]], adapt: _Adapt
) -> list[tuple[str, list[Any]]]:
    """The INSERT ... RETURNING statements of `_apply_active`."""
    table = _qn(ActivePeriod._meta.db_table)
    names = ("tenant_id", "person_id", "grain", "start")
    cols = ", ".join(_qn(c) for c in names)
    returning = f"RETURNING tenant_id, person_id, grain, {_qn('start')}"
    if _unnests(len(keys)):
        return _unnest_statements(
            f"INSERT INTO {table} ({cols}) SELECT * "  # noqa: S608
            f"FROM {_unnest(ActivePeriod._meta.db_table, names)} "
            f"ON CONFLICT DO NOTHING {returning}",
            [(t, p, g, adapt.day(d)) for t, p, g, d in keys],
        )
    out = []
    for begin in range(0, len(keys), _ROWS_PER_STATEMENT):
        batch = keys[begin : begin + _ROWS_PER_STATEMENT]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(batch))
        params: list[Any] = []
        for t, p, g, s in batch:
            params.extend((t, p, g, adapt.day(s)))
        out.append(
            (
                f"INSERT INTO {table} ({cols}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT DO NOTHING {returning}",
                params,
            )
        )
    return out


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def apply_events(
    events: Iterable[fold.Event | tuple[Any, ...]],
    *,
    cells: bool = True,
    lead: tuple[str, list[Any]] | None = None,
) -> list[tuple[Any, ...]]:
    held = _held.events
    if held is not None and lead is None and cells:
        held.extend(events)
        return []
    flush_held()
    return apply(fold.fold(events), cells=cells, lead=lead)


class _Held(threading.local):
    events: list[fold.Event | tuple[Any, ...]] | None = None
    later_from: int | None = None


_held = _Held()


@contextlib.contextmanager
def held(*, later_from: int | None = None) -> Iterator[None]:
    """Within the caller's transaction, hold the events recorded in the block and apply them
    together as the block ends (ADR 0028): a batch job that records events in many small
    calls (a recompute enrolling 25,000 people in 70 batches) updates each shared rollup row
    once, not once per call. Any other rollup operation (due dates, people's dimensions, a
    rebuild) applies what is held first, so everything still happens in the order the code
    asked for. Nested blocks are part of the outermost one.

    `later_from`: when at least this many events are held, they are queued for the worker
    instead (`PendingRollup`, ADR 0035): the batch commits without them and the worker's
    `apply_pending` brings the rollups up to date moments later."""
    if _held.events is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("rollups.held() must run inside the transaction of its events")
    _held.events = []
    _held.later_from = later_from
    try:
        yield
        flush_held()
    finally:
        _held.events = None
        _held.later_from = None


def flush_held() -> None:
    """Apply the events held by `held()` so far (nothing when none are held), or queue them for
    the worker when the block asked for it and they are many."""
    events = _held.events
    if events:
        _held.events = []
        if _held.later_from is not None and len(events) >= _held.later_from:
            _queue_pending(events)
        else:
            apply(fold.fold(events))


# --- Rollups applied by the worker (ADR 0035) -----------------------------------------------------

PENDING_CHUNK = 50_000  # queued events applied per transaction by `apply_pending`
# The queue's columns as `apply_pending` reads them; written with the group's event count.
_PENDING_FIELDS = (
    "tenant_id",
    "verb",
    "object_id",
    "course_id",
    "occurred_at",
    "attempt",
    "people",
)


def _queue_pending(events: list[fold.Event | tuple[Any, ...]]) -> None:
    """Queue events (fold.Event field order) for `apply_pending`, in the caller's transaction,
    one row per group that differs only by person, and have the worker called once it commits
    (once for a whole recompute, see `bus.merging_after_commit`)."""
    from uptake.core import bulk, bus

    groups: dict[tuple[Any, ...], list[int]] = {}
    for tenant_id, person_id, verb, object_id, course_id, at, attempt in events:
        groups.setdefault((tenant_id, verb, object_id, course_id, at, attempt), []).append(
            person_id
        )
    bulk.insert_rows(
        PendingRollup,
        [*_PENDING_FIELDS, "events"],
        [(*key, ",".join(map(str, people)), len(people)) for key, people in groups.items()],
    )

    def enqueue(_items: list[Any]) -> None:
        from uptake.analytics.tasks import apply_pending_rollups

        apply_pending_rollups.enqueue()

    bus.after_commit_merged(("analytics-pending-rollups",), (), enqueue)


def _lock_pending() -> None:
    """Serialise the readers and emptiers of the queue (the worker, a rebuild) on PostgreSQL,
    and wait for the transactions still adding to it (this mode conflicts with their row
    locks): what the caller then reads of the queue is all of it, committed. SQLite's writers
    are serialised already (transactions begin IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {_qn(PendingRollup._meta.db_table)} IN SHARE ROW EXCLUSIVE MODE"
            )


def apply_pending(*, chunk: int = PENDING_CHUNK) -> int:
    """Apply the queued events to the rollups, oldest first, about `chunk` of them per
    transaction (each row deleted from the queue in the transaction that applies it: once
    each), until the queue is empty; people erased since are skipped. Returns how many events
    were applied. Idempotent; safe beside another worker."""
    from uptake.core import bulk
    from uptake.people.models import Person

    total = 0
    while True:
        with transaction.atomic():
            _lock_pending()
            taken: list[int] = []
            events = 0
            for pk, count in PendingRollup.objects.order_by("pk").values_list("pk", "events"):
                if taken and events + count > chunk:
                    break
                taken.append(pk)
                events += count
            if not taken:
                return total
            rows = list(PendingRollup.objects.filter(pk__in=taken).values_list(*_PENDING_FIELDS))
            people = {int(pk) for *_key, text in rows for pk in text.split(",")}
            tenants = {row[0] for row in rows}
            known = {
                (tenant, pk)
                for pk, tenant in bulk.rows_for(
                    Person.objects.filter(tenant_id__in=tenants),
                    "pk",
                    people,
                    "pk",
                    "tenant_id",
                    scan=False,
                )
            }
            batch = [
                (tenant, person, verb, object_id, course_id, at, attempt)
                for tenant, verb, object_id, course_id, at, attempt, text in rows
                for person in map(int, text.split(","))
                if (tenant, person) in known
            ]
            apply(fold.fold(batch))
            PendingRollup.objects.filter(pk__in=taken).delete()
            total += len(batch)


def pending_count(*, tenant_id: int) -> int:
    """How many of the organisation's events still wait for the worker (ADR 0035)."""
    return sum(PendingRollup.objects.filter(tenant_id=tenant_id).values_list("events", flat=True))


def holding() -> bool:
    """Whether `held()` is collecting this thread's events."""
    return _held.events is not None


# --- People dimensions in cells (ADR 0017) -------------------------------------------------------

_DIM_COLUMNS = ("department", "location", "manager", "hire_month", "is_active")


def _dims_row(values: Sequence[Any]) -> fold.Dims:
    d, loc, m, h, active = values
    return (d or "", loc or "", m or "", h or "", bool(active))


def _person_chunks(keys: Iterable[tuple[int, int]]) -> Iterable[tuple[int, list[int]]]:
    by_tenant: dict[int, set[int]] = {}
    for t, p in keys:
        by_tenant.setdefault(t, set()).add(p)
    for tenant_id, people in sorted(by_tenant.items()):
        ordered = sorted(people)
        for start in range(0, len(ordered), _IN_CHUNK):
            yield tenant_id, ordered[start : start + _IN_CHUNK]


def _stored_dims(keys: Iterable[tuple[int, int]], *, suffix: str = "") -> dict[Any, fold.Dims]:
    out: dict[Any, fold.Dims] = {}
    with _cursor() as cursor:
        for sql, params in _dims_statements(keys, suffix):
            for p, *values in _fetch(cursor, sql, params):
                out[(params[0], p)] = _dims_row(values)
    return out


def _dims_statements(keys: Iterable[tuple[int, int]], suffix: str) -> list[tuple[str, list[Any]]]:
    """The SELECTs of `_stored_dims` (tenant first in each one's parameters)."""
    table = _qn(PersonDims._meta.db_table)
    cols = ", ".join(_qn(c) for c in _DIM_COLUMNS)
    return [
        (
            f"SELECT person_id, {cols} FROM {table} WHERE tenant_id = %s "  # noqa: S608
            f"AND person_id IN ({', '.join(['%s'] * len(chunk))}){suffix}",
            [tenant_id, *chunk],
        )
        for tenant_id, chunk in _person_chunks(keys)
    ]


def _current_dims(keys: Iterable[tuple[int, int]]) -> dict[Any, fold.Dims]:
    """The people's dimension values now (from Person)."""
    from uptake.people.models import Person

    table = _qn(Person._meta.db_table)
    out: dict[Any, fold.Dims] = {}
    with _cursor() as cursor:
        for tenant_id, chunk in _person_chunks(keys):
            rows = _fetch(
                cursor,
                "SELECT id, department, location, manager_id, hire_date, is_active "  # noqa: S608
                f"FROM {table} WHERE tenant_id = %s AND id IN ({', '.join(['%s'] * len(chunk))})",
                [tenant_id, *chunk],
            )
            for p, d, loc, m, h, active in rows:
                out[(tenant_id, p)] = fold.dims_of(d, loc, m, h, active)
    return out


def _write_dims(dims: dict[Any, fold.Dims], *, replace: bool) -> None:
    rows = [[t, p, *d] for (t, p), d in sorted(dims.items())]
    if replace:
        _upsert(
            PersonDims._meta.db_table,
            ["tenant_id", "person_id"],
            _DIM_COLUMNS,
            ["set"] * len(_DIM_COLUMNS),
            rows,
        )
        return
    table = _qn(PersonDims._meta.db_table)
    cols = ", ".join(_qn(c) for c in ("tenant_id", "person_id", *_DIM_COLUMNS))
    with _cursor() as cursor:
        if connection.vendor == "sqlite":  # compiled once, stepped per row (see _upsert)
            cursor.executemany(
                f"INSERT INTO {table} ({cols}) VALUES (%s, %s, %s, %s, %s, %s, %s) "  # noqa: S608
                "ON CONFLICT DO NOTHING",
                rows,
            )
            return
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            _send(
                cursor,
                f"INSERT INTO {table} ({cols}) VALUES "  # noqa: S608
                f"{', '.join(['(%s, %s, %s, %s, %s, %s, %s)'] * len(chunk))} "
                "ON CONFLICT DO NOTHING",
                [v for row in chunk for v in row],
            )


def person_dims(keys: set[tuple[int, int]]) -> dict[tuple[int, int], fold.Dims]:
    """The dimension values these people are counted under: their PersonDims copy, made from
    Person for those who have none yet. On PostgreSQL the copies are read FOR SHARE so that a
    concurrent `sync_people` (FOR UPDATE) of the same people waits for this transaction."""
    cache = _dims_cache.value
    if cache is not None and keys <= cache.keys():
        return cache
    pg = connection.vendor == "postgresql"
    if cache is not None:
        keys = keys - cache.keys()
    out = _stored_dims(keys, suffix=" FOR SHARE" if pg else "")
    missing = keys - out.keys()
    if missing:
        made = _current_dims(missing)
        _write_dims(made, replace=False)
        if pg:  # another transaction may have made them first: read what is stored
            made.update(_stored_dims(made.keys(), suffix=" FOR SHARE"))
        out.update(made)
        for key in missing - made.keys():  # no such person (cannot happen: foreign keys)
            out[key] = ("", "", "", "", False)
    if cache is not None:
        cache.update(out)
        return cache
    return out


class _DimsCache(threading.local):
    value: dict[tuple[int, int], fold.Dims] | None = None


# The people's dimension values read during one `apply` (read once per batch, not per table).
_dims_cache = _DimsCache()


def apply_dim_cells(changes: dict[fold.DimCellKey, list[int]]) -> None:
    """Add counter changes to the dimension cells (sums: any order and batching)."""
    if not changes:
        return
    adapt = _Adapt()
    rows: dict[str, list[list[Any]]] = {"a": [], "c": [], "t": []}
    for (table, t, kind, value, c, k1, k2), counters in changes.items():
        if table == "a":
            rows["a"].append([t, kind, value, c, adapt.day(k1), adapt.day(k2), *counters])
        elif table == "c":
            rows["c"].append([t, kind, value, c, adapt.day(k1), *counters])
        else:
            rows["t"].append([t, kind, value, c, k1, *counters])
    for table_rows in rows.values():
        table_rows.sort()  # one order of keys for every writer (row locks on PostgreSQL)
    key = ["tenant_id", "kind", "value", "course_id"]
    _upsert(
        DimAssignmentCell._meta.db_table,
        [*key, "assigned_day", "due_day"],
        ["assigned", "started", "completed", "activated", "on_time"],
        ["sum"] * 5,
        rows["a"],
    )
    _upsert(DimCompletionCell._meta.db_table, [*key, "day"], ["n"], ["sum"], rows["c"])
    _upsert(DimDurationCell._meta.db_table, [*key, "hours"], ["n"], ["sum"], rows["t"])


def apply_dim_active(changes: Counter[tuple[int, str, str, str, dt.date]]) -> None:
    day = _Adapt().day
    _upsert(
        DimActiveCell._meta.db_table,
        ["tenant_id", "kind", "grain", "start", "value"],
        ["people"],
        ["sum"],
        [[t, k, g, day(s), v, n] for (t, k, v, g, s), n in sorted(changes.items()) if n],
    )


def sync_people(*, tenant_id: int, person_ids: Iterable[int]) -> int:
    """Move people whose HR dimensions changed between the dimension cells: their current
    assignments and active periods leave the cells of the values they were counted under and
    join those of their values now. Only people already counted (with a PersonDims copy) are
    touched. Returns how many moved."""
    flush_held()
    keys = {(tenant_id, p) for p in person_ids}
    if not keys:
        return 0
    with transaction.atomic():
        pg = connection.vendor == "postgresql"
        stored = _stored_dims(keys, suffix=" FOR UPDATE" if pg else "")
        now = _current_dims(stored.keys())
        moved = {k: (stored[k], now[k]) for k in stored if k in now and now[k] != stored[k]}
        if not moved:
            return 0
        cf, ap = _qn(CourseFact._meta.db_table), _qn(ActivePeriod._meta.db_table)
        cols = f"person_id, course_id, {_as_read(_FACT_COLUMNS)}"
        cell_moves = []
        check_moves = []
        ck = _qn(CheckFact._meta.db_table)
        ck_cols = ", ".join(_qn(c) for c in ("person_id", "activity_id", *fold.CHECK_COLUMNS))
        active_moves = []
        retention_moves: Counter[tuple[int, str, str, str, dt.date, dt.date]] = Counter()
        cohorts = {k: (v[1], v[3]) for k, v in _read_people(sorted(moved), lock=False).items()}
        with _cursor() as cursor:
            for t, chunk in _person_chunks(moved):
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT {cols} FROM {cf} WHERE tenant_id = %s "  # noqa: S608
                    f"AND person_id IN ({marks})",
                    [t, *chunk],
                )
                for p, c, *values in cursor.fetchall():
                    old, new = moved[(t, p)]
                    row = [_py_moment(v) for v in values]
                    cell_moves.append((t, c, old, new, row, row))
                cursor.execute(
                    f"SELECT {ck_cols} FROM {ck} WHERE tenant_id = %s "  # noqa: S608
                    f"AND person_id IN ({marks})",
                    [t, *chunk],
                )
                for p, a, *values in cursor.fetchall():
                    old, new = moved[(t, p)]
                    check_moves.append((t, a, old, new, values, values))
                cursor.execute(
                    f"SELECT person_id, grain, {_qn('start')} FROM {ap} "  # noqa: S608
                    f"WHERE tenant_id = %s AND person_id IN ({marks})",
                    [t, *chunk],
                )
                for p, g, s in cursor.fetchall():
                    old, new = moved[(t, p)]
                    day = _as_date(s)
                    active_moves.append((t, old, g, day, -1))
                    active_moves.append((t, new, g, day, 1))
                    if g != "w":
                        continue
                    for ckind, cweek in zip("sa", cohorts.get((t, p), (None, None)), strict=True):
                        if cweek is not None and day >= cweek:
                            for dkind, i in fold.ACTIVE_KINDS:
                                retention_moves[(t, dkind, str(old[i]), ckind, cweek, day)] -= 1
                                retention_moves[(t, dkind, str(new[i]), ckind, cweek, day)] += 1
        apply_dim_cells(fold.dim_cell_changes(cell_moves))
        _apply_check_cells(fold.check_cell_changes(check_moves))
        apply_dim_active(fold.dim_active_changes(active_moves))
        apply_dim_retention(retention_moves)
        _write_dims({k: new for k, (_old, new) in moved.items()}, replace=True)
    return len(moved)


def _rebuild_dim_cells(*, tenant_id: int | None) -> None:
    """Every person's dimension copy from Person, then every dimension cell from CourseFact
    and the active periods."""
    from uptake.people.models import Person

    pd, person = _qn(PersonDims._meta.db_table), _qn(Person._meta.db_table)
    cf, ap = _qn(CourseFact._meta.db_table), _qn(ActivePeriod._meta.db_table)
    dac = _qn(DimActiveCell._meta.db_table)
    pg = connection.vendor == "postgresql"
    month = "to_char(p.hire_date, 'YYYY-MM')" if pg else "strftime('%%Y-%%m', p.hire_date)"
    where, params = ("", []) if tenant_id is None else (" WHERE p.tenant_id = %s", [tenant_id])
    cols = ", ".join(_qn(c) for c in ("tenant_id", "person_id", *_DIM_COLUMNS))
    dim_cols = ", ".join(f"pd.{_qn(c)}" for c in _DIM_COLUMNS)
    fact_cols = ", ".join(f"cf.{_qn(c)}" for c in _FACT_COLUMNS)
    with _cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {pd} ({cols}) SELECT p.tenant_id, p.id, "  # noqa: S608
            "COALESCE(p.department, ''), COALESCE(p.location, ''), "
            f"COALESCE(CAST(p.manager_id AS {'text' if pg else 'TEXT'}), ''), "
            f"COALESCE({month}, ''), p.is_active FROM {person} p{where}",
            params,
        )
        if pg:
            # Filled in this transaction (a rebuild; the demo generator's whole organisation),
            # these tables have no statistics yet, and PostgreSQL joined them by nested loops
            # over whole-table scans: 157 s for 2,000 people. ANALYZE counts this
            # transaction's own rows.
            analyzed = (PersonDims, CourseFact, ActivePeriod, PersonFact, CheckFact)
            cursor.execute(f"ANALYZE {', '.join(_qn(m._meta.db_table) for m in analyzed)}")
        last = 0
        cond = "" if tenant_id is None else " AND cf.tenant_id = %s"
        while True:
            cursor.execute(
                f"SELECT cf.id, cf.tenant_id, cf.course_id, {dim_cols}, {fact_cols} "  # noqa: S608
                f"FROM {cf} cf JOIN {pd} pd ON pd.tenant_id = cf.tenant_id "
                f"AND pd.person_id = cf.person_id WHERE cf.id > %s{cond} ORDER BY cf.id LIMIT %s",
                [last, *params, REBUILD_CHUNK],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            changes = []
            for _id, t, c, *values in rows:
                dims = _dims_row(values[:5])
                changes.append((t, c, dims, dims, None, [_py_moment(v) for v in values[5:]]))
            apply_dim_cells(fold.dim_cell_changes(changes))
        ckcond = "" if tenant_id is None else " AND ck.tenant_id = %s"
        for kind, i in fold.CHECK_DIM_KINDS:
            cursor.execute(rebuild_check_cells_sql(ckcond, dim=_DIM_COLUMNS[i]), [kind, *params])
        apcond = "" if tenant_id is None else " AND ap.tenant_id = %s"
        drc, pf = _qn(DimRetentionCell._meta.db_table), _qn(PersonFact._meta.db_table)
        for dkind, i in fold.ACTIVE_KINDS:
            name = _qn(_DIM_COLUMNS[i])
            for ckind, col in (("s", "first_active_week"), ("a", "first_assigned_week")):
                cursor.execute(
                    f"INSERT INTO {drc} (tenant_id, kind, {_qn('value')}, cohort_kind, "  # noqa: S608
                    f"cohort_week, week, people) SELECT ap.tenant_id, %s, pd.{name}, %s, "
                    f"pf.{col}, ap.{_qn('start')}, COUNT(*) FROM {ap} ap "
                    f"JOIN {pf} pf ON pf.tenant_id = ap.tenant_id AND pf.person_id = ap.person_id "
                    f"JOIN {pd} pd ON pd.tenant_id = ap.tenant_id AND pd.person_id = ap.person_id "
                    f"WHERE ap.grain = 'w' AND ap.{_qn('start')} >= pf.{col}{apcond} "
                    f"GROUP BY ap.tenant_id, pd.{name}, pf.{col}, ap.{_qn('start')}",
                    [dkind, ckind, *params],
                )
        for kind, col, heat in (
            *((k, fold.DIM_KINDS[i], False) for k, i in fold.ACTIVE_KINDS),
            *((k, fold.DIM_KINDS[i], True) for k, i in fold.HEATMAP_KINDS),
        ):
            name = _qn(_DIM_COLUMNS[fold.DIM_KINDS.index(col)])
            extra = " AND ap.grain = 'w' AND pd.is_active = %s" if heat else ""
            cursor.execute(
                f"INSERT INTO {dac} (tenant_id, kind, {_qn('value')}, grain, "  # noqa: S608
                f"{_qn('start')}, people) SELECT ap.tenant_id, %s, pd.{name}, ap.grain, "
                f"ap.{_qn('start')}, COUNT(*) FROM {ap} ap JOIN {pd} pd "
                "ON pd.tenant_id = ap.tenant_id AND pd.person_id = ap.person_id "
                f"WHERE 1 = 1{extra}{apcond} "
                f"GROUP BY ap.tenant_id, pd.{name}, ap.grain, ap.{_qn('start')}",
                [kind, *([True] if heat else []), *params],
            )


ROLLUP_MODELS = (
    CourseFact,
    CheckFact,
    CheckCell,
    PersonFact,
    ActivePeriod,
    ActiveCount,
    DailyCount,
    AssignmentCell,
    CompletionCell,
    DurationCell,
    RetentionCell,
    PersonDims,
    DimAssignmentCell,
    DimCheckCell,
    DimCompletionCell,
    DimDurationCell,
    DimActiveCell,
    DimRetentionCell,
)
REBUILD_CHUNK = 200_000


@transaction.atomic
def rebuild(*, tenant_id: int | None = None) -> int:
    """Drop the rollups (of one tenant, or all) and recompute them from LearningEvent, in
    chunks of events; returns how many events were read.

    The chunks are ranges of people, read through the (tenant, person, occurred_at) index, so
    that each person's rows (CourseFact, CheckFact, PersonFact, ActivePeriod) are written once:
    chunks in event order touched most of them again in every chunk, and on PostgreSQL every
    rewrite leaves a dead row version behind (10M events in 50 chunks left the fact tables
    dozens of times their size, and the reads after the rebuild slowed down with them)."""
    flush_held()
    # The queued events are events like the others: read below, so not applied again.
    _lock_pending()
    pending = PendingRollup.objects.all()
    if tenant_id is not None:
        pending = pending.filter(tenant_id=tenant_id)
    pending.delete()
    for model in ROLLUP_MODELS:
        qs = model.objects.all()  # type: ignore[attr-defined]
        if tenant_id is not None:
            qs = qs.filter(tenant_id=tenant_id)
        qs.delete()
    fields = ("tenant_id", "person_id", "verb", "object_id", "course_id", "occurred_at")
    # Only the attempt number is needed from `data`, and only for passes (read in the database,
    # not by decoding every row's JSON).
    events = LearningEvent.objects.annotate(
        attempt=Case(
            When(verb="passed", then=KT("data__attempt")),
            default=Value(None),
            output_field=CharField(),
        )
    ).values_list(*fields, "attempt")
    total = 0
    for tenant, first, last in _rebuild_ranges(tenant_id):
        chunk = list(events.filter(tenant_id=tenant, person_id__gte=first, person_id__lte=last))
        total += len(chunk)
        apply_events(
            ((t, p, v, o, c, at, _number(attempt)) for t, p, v, o, c, at, attempt in chunk),
            cells=False,
        )
    _rebuild_cells(tenant_id=tenant_id)
    _rebuild_dim_cells(tenant_id=tenant_id)
    return total


def vacuum_after_rebuild() -> None:
    """PostgreSQL, after a rebuild has committed (not inside a transaction): VACUUM (ANALYZE)
    the rollup tables. The rebuild deleted every row and wrote them again, so each table holds
    a dead version of each row until autovacuum comes by; the reads scan them until then."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return  # (inside a caller's transaction VACUUM cannot run: autovacuum will)
    with connection.cursor() as cursor:
        for model in ROLLUP_MODELS:
            cursor.execute(f"VACUUM (ANALYZE) {_qn(model._meta.db_table)}")  # type: ignore[attr-defined]


def _rebuild_ranges(tenant_id: int | None) -> Iterator[tuple[int, int, int]]:
    """(tenant, first person id, last person id): ranges of person ids with about
    REBUILD_CHUNK events each (at least one person), from the tenant's people and its event
    count."""
    from uptake.people.models import Person
    from uptake.tenancy.models import Tenant

    tenants = (
        [tenant_id]
        if tenant_id is not None
        else list(Tenant.objects.order_by("pk").values_list("pk", flat=True))
    )
    for tenant in tenants:
        events = LearningEvent.objects.filter(tenant_id=tenant).count()
        if not events:
            continue
        people = list(
            Person.objects.filter(tenant_id=tenant).order_by("pk").values_list("pk", flat=True)
        )
        per_chunk = max(1, REBUILD_CHUNK * len(people) // events)
        # Contiguous ranges from 0 to the largest id there can be: every event of the tenant
        # is in one, whoever its person is.
        low = 0
        for start in range(per_chunk, len(people), per_chunk):
            yield tenant, low, people[start - 1]
            low = people[start - 1] + 1
        yield tenant, low, _LAST_ID


_LAST_ID = 2**63 - 1


def _number(value: Any) -> int | None:
    if isinstance(value, float) or value is None:
        return None
    return fold.attempt_number(value if isinstance(value, int) else str(value))


def _attempt(data: Any) -> int | None:
    if isinstance(data, str) and '"attempt"' in data:
        data = json.loads(data)
    return fold.attempt_number(data.get("attempt") if isinstance(data, dict) else None)
