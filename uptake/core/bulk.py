"""Set-based writes and reads for batches of up to 100,000 rows (imports, rule recomputes).

`bulk_create` / `bulk_update` prepare every value of every row through the model fields and,
on SQLite, `bulk_update` builds one CASE branch per row (quadratic). For imports and rule
batches we write plain parameterised SQL built from the model's own quoted table and column
names (never from input), values prepared once per distinct date/time/JSON value:
SQLite: `executemany` (runs in-process). PostgreSQL: `COPY ... FROM STDIN`, and for updates
COPY into a temporary table then one `UPDATE ... FROM` (ADR 0005).
Model `save()` does not run for these rows: callers publish domain events themselves.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import operator
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import QuerySet

T = TypeVar("T")
IN_CHUNK = 5000
WHOLE_SCAN = 2000  # above this many ids, scan and filter in Python (see rows_for)
_ROWS_PER_CALL = 20_000


# SQLite's page cache for a batch that writes hundreds of thousands of index entries (an import
# of events, the demo generator, the nudge sweep): with the connection's 20 MB most B-tree
# pages of a million-row table's indexes are read back from the OS for every insert.
LARGE_PAGE_CACHE_KIB = 256 * 1024


@contextlib.contextmanager
def page_cache(kib: int = LARGE_PAGE_CACHE_KIB) -> Iterator[None]:
    """SQLite: a page cache of at least `kib` for the block, put back afterwards (which frees
    the pages above the previous size). Pages are cached only when read, so memory grows only
    as needed. Nested blocks keep the larger size. Nothing on other databases."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        if previous > 0:  # pages, not KiB
            cursor.execute("PRAGMA page_size")
            previous_kib = previous * int(cursor.fetchone()[0]) // 1024
        else:
            previous_kib = -previous
        raise_it = previous_kib < kib
        if raise_it:
            cursor.execute(f"PRAGMA cache_size = {-int(kib):d}")
    try:
        yield
    finally:
        if raise_it:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {previous:d}")


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


ANALYZE_FROM = 1000  # PostgreSQL: rows written, and a tenth of the table, to refresh statistics


def refresh_statistics_later(model: type[Any], written: int) -> None:
    """After the current transaction commits, ANALYZE the model's table on PostgreSQL when this
    batch wrote at least ANALYZE_FROM rows and a tenth of the table: the planner's row counts
    are otherwise those from before the batch (none for a first import) until autovacuum
    passes, and the next large operation (an audience recompute) runs on plans made for an
    empty table (ADR 0038). SQLite keeps no statistics unless asked (none here)."""
    if connection.vendor != "postgresql" or written < ANALYZE_FROM:
        return
    table = connection.ops.quote_name(model._meta.db_table)

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            (known,) = cursor.fetchone()
            if written * 10 >= max(known, 0):
                cursor.execute(f"ANALYZE {table}")

    transaction.on_commit(analyze)


def rows_for(
    qs: QuerySet[Any], field: str, ids: Iterable[int], *values: str, scan: bool = True
) -> list[tuple[Any, ...]]:
    """`qs.values_list(*values)` restricted to rows whose `field` is in `ids`; `field` must be
    the first of `values`. Chunked IN lists for a few ids; with `scan`, one pass over `qs` for
    many (only when `qs` is small next to the batch, e.g. one course's enrolments, never the
    whole organisation's people). `rows_where` is the same without a queryset, for the live
    path."""
    qs = qs.order_by()  # no model ordering: it costs a sort and the rows come back as a set
    return _rows_in(
        ids,
        scan,
        lambda: qs.values_list(*values),
        lambda chunk: with_ids_in(qs, field, chunk).values_list(*values),
    )


def rows_where(
    model: type[Any],
    where: dict[str, Any],
    field: str,
    ids: Iterable[int],
    *values: str,
    scan: bool = True,
) -> list[tuple[Any, ...]]:
    """`rows_for(model.objects.filter(**where), field, ids, *values, scan=scan)` for `where`
    conditions that are equalities on concrete columns ("tenant_id", "is_active"; no None):
    the statement is built once per shape from the model's metadata, not by the ORM per call
    (~0.7 ms of CPU per query, the larger part of one HR change's reads). Values come back
    converted as `values_list` converts them (SQLite's dates and booleans)."""
    key = ("select", connection.vendor, model, tuple(where), field, values)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = _select_shape(model, tuple(where), field, values)
    everything, by_ids, columns, preparers = shape
    params = _where_params(where, preparers)
    converters = [
        (index, converts)
        for index, col in enumerate(columns)
        if (
            converts := [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]
        )
    ]

    def fetch(sql: str) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not converters:
            return list(rows)
        out = []
        for row in rows:
            cells = list(row)
            for index, converts in converters:
                for convert in converts:
                    cells[index] = convert(cells[index], columns[index], connection)
            out.append(tuple(cells))
        return out

    return _rows_in(
        ids,
        scan,
        lambda: fetch(everything),
        lambda chunk: fetch(f"{by_ids} IN ({int_list(chunk)})"),
    )


def instances_where(
    model: type[T], where: dict[str, Any], field: str, ids: Iterable[int]
) -> list[T]:
    """Model instances (every concrete field loaded, as the ORM loads them) of `rows_where`'s
    rows, in id order: a live HR change's assignments, without the ORM building the query."""
    names = [f.attname for f in model._meta.concrete_fields]  # type: ignore[attr-defined]
    rows = rows_where(model, where, field, ids, field, *names, scan=False)
    made = [model.from_db(connection.alias, names, row[1:]) for row in rows]  # type: ignore[attr-defined]
    return sorted(made, key=operator.attrgetter("pk"))


def delete_where(model: type[Any], where: dict[str, Any], field: str, ids: Iterable[int]) -> int:
    """DELETE the rows `rows_where(model, where, field, ids, ...)` would read, in chunks;
    returns how many. Plain SQL: no signals, no cascades, so only for rows nothing refers to
    (audience memberships)."""
    key = ("delete", connection.vendor, model, tuple(where), field)
    shape = _SHAPES.get(key)
    if shape is None:
        table = connection.ops.quote_name(model._meta.db_table)
        condition = _by_ids(model, tuple(where), field)
        shape = _SHAPES[key] = (
            f"DELETE FROM {table} WHERE {condition}",  # noqa: S608
            _preparers(model, tuple(where)),
        )
    statement, preparers = shape
    params = _where_params(where, preparers)
    deleted = 0
    with connection.cursor() as cursor:
        for chunk in chunks(sorted(set(ids))):
            cursor.execute(f"{statement} IN ({int_list(chunk)})", params)
            deleted += cursor.rowcount
    return deleted


# rows_where's and delete_where's statements (and insert_columns'), built once per shape:
# database, model, columns. A few dozen call sites.
_SHAPES: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def int_list(ids: Iterable[int]) -> str:
    """Integer ids as SQL literals for `IN (...)` (each checked to be an integer)."""
    return ",".join(str(int(i)) for i in ids)


def _field(model: type[Any], name: str) -> Any:
    meta = model._meta
    return meta.pk if name == "pk" else meta.get_field(name)


def _preparers(model: type[Any], where: tuple[str, ...]) -> list[Any]:
    """Per condition, the field its value goes through (a date), or None: numbers, text,
    booleans and keys go to the driver as they are."""
    fields = [_field(model, name) for name in where]
    return [None if f.is_relation or f.get_internal_type() in _PLAIN_TYPES else f for f in fields]


def _where_params(where: dict[str, Any], preparers: list[Any]) -> list[Any]:
    if None in where.values():
        raise ValueError("conditions compare with =: filter on None (IS NULL) with the ORM")
    return [
        value if f is None else f.get_db_prep_value(value, connection)
        for f, value in zip(preparers, where.values(), strict=True)
    ]


def _by_ids(model: type[Any], where: tuple[str, ...], field: str) -> str:
    """`a = %s AND b = %s AND col`, for ` IN (...)` to follow."""
    qn = connection.ops.quote_name
    conditions = [f"{qn(_field(model, name).column)} = %s" for name in where]
    return "".join(c + " AND " for c in conditions) + qn(_field(model, field).column)


def _select_shape(
    model: type[Any], where: tuple[str, ...], field: str, values: tuple[str, ...]
) -> tuple[str, str, list[Any], list[Any]]:
    """rows_where's statement without the ids, the same up to its id column (for " IN (...)"),
    the selected columns (expressions, for their converters) and the conditions' preparers."""
    qn = connection.ops.quote_name
    table = model._meta.db_table
    columns = [_field(model, name).get_col(table) for name in values]
    sql = f"SELECT {', '.join(qn(c.target.column) for c in columns)} FROM {qn(table)}"  # noqa: S608
    conditions = " AND ".join(f"{qn(_field(model, name).column)} = %s" for name in where)
    everything = f"{sql} WHERE {conditions}" if conditions else sql
    by_ids = f"{sql} WHERE {_by_ids(model, where, field)}"
    return everything, by_ids, columns, _preparers(model, where)


def _rows_in(
    ids: Iterable[int], scan: bool, everything: Any, chunked: Any
) -> list[tuple[Any, ...]]:
    wanted = set(ids)
    if not wanted:
        return []
    if scan and len(wanted) > WHOLE_SCAN:
        return [row for row in everything() if row[0] in wanted]
    out: list[tuple[Any, ...]] = []
    for chunk in chunks(sorted(wanted)):
        out.extend(chunked(chunk))
    return out


def with_ids_in(qs: QuerySet[Any], field: str, ids: Iterable[int]) -> QuerySet[Any]:
    """`qs.filter(<field>__in=ids)` for integer ids without the ORM's per-value preparation
    (it costs more than the query for thousands of ids): the ids are checked to be integers
    and written into the SQL as literals; `field` is a concrete column of `qs.model` ("pk",
    "person_id", ...), quoted from the model's metadata."""
    meta = qs.model._meta
    column = meta.pk.column if field == "pk" else meta.get_field(field).column
    listed = int_list(ids) or "NULL"
    qn = connection.ops.quote_name
    return qs.extra(where=[f"{qn(meta.db_table)}.{qn(column)} IN ({listed})"])  # noqa: S610 (int literals, quoted names)


def _preparer(model: type[Any], names: Sequence[str], *, copy: bool = False) -> Any:
    """A function preparing a batch of rows for the driver, column by column, decided once per
    column: text, numbers, booleans and foreign keys pass as they are; JSON is serialised (for
    SQLite and COPY's text format; through the field otherwise); dates, times and the rest go
    through the field once per distinct value. None when no column needs preparing."""
    fields = [model._meta.get_field(n) for n in names]
    converters: list[tuple[int, Any]] = []
    for index, field in enumerate(fields):
        internal = field.get_internal_type()
        if internal in _PLAIN_TYPES or field.is_relation:
            continue
        if internal == "JSONField" and (copy or connection.vendor == "sqlite"):
            converters.append((index, _json_column(field.encoder)))
        elif internal == "DateTimeField" and connection.vendor == "postgresql":
            converters.append((index, _aware_datetimes_column(_distinct_values_column(field))))
        else:
            converters.append((index, _distinct_values_column(field)))
    if not converters:
        return None

    def prepare(batch: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        columns = list(zip(*batch, strict=True))
        for index, convert in converters:
            columns[index] = convert(columns[index])
        return list(zip(*columns, strict=True))

    return prepare


def _json_column(encoder: Any) -> Any:
    dumps = (encoder or json.JSONEncoder)().encode

    def convert(values: Sequence[Any]) -> list[Any]:
        return [v if v is None or isinstance(v, str) else dumps(v) for v in values]

    return convert


def _aware_datetimes_column(others: Any) -> Any:
    """PostgreSQL: aware datetimes go to the driver as they are (what the field would give
    back); a batch with anything else goes through `others`. No hashing of tens of thousands
    of distinct moments (an aware datetime's hash asks its zone for the offset)."""

    def convert(values: Sequence[Any]) -> Sequence[Any]:
        for v in values:
            if v is not None and (type(v) is not dt.datetime or v.tzinfo is None):
                return others(values)  # type: ignore[no-any-return]
        return values

    return convert


def _distinct_values_column(field: Any) -> Any:
    """Already-prepared values (text, numbers) and None pass as they are."""

    # SQLite stores an aware datetime as naive text in the connection's zone (UTC); this is
    # Django's own adapt_datetimefield_value without its per-call settings lookups.
    sqlite_datetime = connection.vendor == "sqlite" and field.get_internal_type() == "DateTimeField"
    zone = connection.timezone if sqlite_datetime else None

    def one(value: Any) -> Any:
        if value is None or isinstance(value, (int, str, bool, float)):
            return value
        if sqlite_datetime and isinstance(value, dt.datetime) and value.tzinfo is not None:
            return _sqlite_text(value, zone)
        return field.get_db_prep_save(value, connection)

    def convert(values: Sequence[Any]) -> list[Any]:
        if sqlite_datetime:  # `_sqlite_text` is memoised: one lookup per value
            return [one(v) for v in values]
        try:
            distinct = set(values)
        except TypeError:  # unhashable (a dict for a non-JSON field): one by one
            return [one(v) for v in values]
        prepared = {v: one(v) for v in distinct}
        return list(map(prepared.__getitem__, values))

    return convert


@functools.lru_cache(maxsize=65_536)
def _sqlite_text(value: dt.datetime, zone: dt.tzinfo) -> str:
    # Memoised across batches: rule batches repeat the same due dates (the end of a day in a
    # zone) thousands of times. Equal instants in different zones give the same text.
    return str(value.astimezone(zone).replace(tzinfo=None))


_PLAIN_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "BigIntegerField",
    "IntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "BooleanField",
    "CharField",
    "TextField",
    "EmailField",
    "SlugField",
    "URLField",
    "FloatField",
}


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    qn = connection.ops.quote_name
    statement = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    text = _copy_text(rows)
    with cursor.cursor.copy(statement) as copy:
        if text is not None:
            copy.write(text)
        else:
            for row in rows:
                copy.write_row(row)


# COPY's text format, written here column by column: psycopg's write_row formats each value
# through its dumper, 11 µs a row (5.4 s of a recompute's 504,000 rows on PostgreSQL).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _copy_text(rows: Sequence[Sequence[Any]]) -> str | None:
    """The rows in COPY's text format (columns split by tabs, rows ended by newlines, NULL as
    \\N, backslashes and control characters escaped), or None when a column holds a type not
    written here (the caller then lets psycopg format the rows)."""
    if not rows:
        return ""
    texts = []
    for column in zip(*rows, strict=True):
        text = _copy_column(column)
        if text is None:
            return None
        texts.append(text)
    return "".join(line + "\n" for line in map("\t".join, zip(*texts, strict=True)))


def _copy_column(values: Sequence[Any]) -> list[str] | None:
    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    if not kinds:
        return [_NULL] * len(values)
    texts = all(issubclass(kind, str) for kind in kinds)  # text choices are str subclasses
    if kinds == {int} or texts:
        # str.translate gives a plain str of a subclass's text.
        convert: Any = operator.methodcaller("translate", _COPY_ESCAPES) if texts else str
        if not nulls:
            return list(map(convert, values))
        return [_NULL if v is None else convert(v) for v in values]
    if kinds <= {int, float}:
        # repr: the shortest text that reads back as the same float (PostgreSQL reads inf/nan).
        return [_NULL if v is None else repr(v) for v in values]
    if kinds == {bool}:
        return [_NULL if v is None else ("t" if v else "f") for v in values]
    if kinds <= {dt.datetime, dt.date}:
        # A batch repeats a few moments (now, due dates): each written once, with its offset.
        distinct = set(values)
        distinct.discard(None)
        if any(type(v) is dt.datetime and (v.tzinfo is None or v.fold) for v in distinct):
            # Naive (the driver's rules), or the second of a repeated hour, which compares
            # equal to the first in its zone: left to the driver.
            return None
        memo: dict[Any, str] = {
            v: v.isoformat(sep=" ") if type(v) is dt.datetime else v.isoformat() for v in distinct
        }
        memo[None] = _NULL
        return list(map(memo.__getitem__, values))
    return None


COPY_IGNORING_CONFLICTS_FROM = 200  # PostgreSQL: rows from which COPY goes through a staging table
# PostgreSQL: rows from which COPY, not INSERT (one row: 1.0 ms against COPY's 1.5 ms, its
# extra round trip; five: 2.0 against 1.7 ms). A live change writes one event at a time.
COPY_FROM = 3
_STAGING = "uptake_copy_staging"


def _copy_ignoring_conflicts(
    cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """PostgreSQL: COPY into a temporary table shaped like the columns, then one INSERT ...
    SELECT ... ON CONFLICT DO NOTHING (an executemany of 20,000 path enrolments took 0.84 s)."""
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    cursor.execute(f"DROP TABLE IF EXISTS {_STAGING}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {_STAGING} AS SELECT {cols} FROM {qn(table)} WITH NO DATA"  # noqa: S608
    )
    _copy(cursor, _STAGING, columns, rows)
    cursor.execute(
        f"INSERT INTO {qn(table)} ({cols}) SELECT {cols} FROM {_STAGING} "  # noqa: S608
        "ON CONFLICT DO NOTHING"
    )
    cursor.execute(f"DROP TABLE {_STAGING}")


def insert_rows(
    model: type[Any],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """INSERT rows (values in `names` order, attnames like "person_id") without model
    instances. With `ignore_conflicts`, rows that break a unique constraint are skipped
    (INSERT OR IGNORE / ON CONFLICT DO NOTHING). Callers read new ids back by a natural key."""
    if not rows:
        return
    qn = connection.ops.quote_name
    columns = [model._meta.get_field(n).column for n in names]
    table = model._meta.db_table
    cols = ", ".join(qn(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    copying = connection.vendor == "postgresql" and len(rows) >= (
        COPY_IGNORING_CONFLICTS_FROM if ignore_conflicts else COPY_FROM
    )
    prepare = _preparer(model, names, copy=copying)
    # Identifiers come from the model's metadata and are quoted; values are parameters.
    if ignore_conflicts and connection.vendor == "postgresql":
        sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
    elif ignore_conflicts:
        sql = f"INSERT OR IGNORE INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608
    else:
        sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        for batch in chunks(rows, _ROWS_PER_CALL):
            prepared = batch if prepare is None else prepare(batch)
            if copying and ignore_conflicts:
                _copy_ignoring_conflicts(cursor, table, columns, prepared)
            elif copying:
                _copy(cursor, table, columns, prepared)
            else:
                cursor.executemany(sql, prepared)


def insert_columns(
    model: type[Any],
    constants: dict[str, Any],
    columns: dict[str, Sequence[Any]],
    *,
    returning: Sequence[str] = (),
    templates: dict[str, str] | None = None,
) -> list[tuple[Any, ...]]:
    """INSERT one row per position of the `columns` lists (integers, text, moments), each with
    the same `constants` (attnames -> value), in one statement per chunk that the database
    expands itself: `unnest` of array parameters on PostgreSQL, `json_each` of a JSON array of
    rows on SQLite. For rows that differ in a few columns (a rule's members: only the person),
    where `insert_rows` built and sent every value of every row. Returns the `returning`
    columns ("pk" or attnames) of the rows inserted, in no particular order.

    `templates` (attname -> text with one `%s`, `%%` for a percent sign): that column's
    values are put in place of the `%s` by the database (`format` / `printf`), for text that
    differs by one number (a learning event's JSON data and its enrolment id)."""
    templates = templates or {}
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if not count:
        return []
    if any(len(values) != count for values in columns.values()):
        raise ValueError("every column needs the same number of values")
    key = (
        "insert",
        connection.vendor,
        model,
        tuple(constants),
        tuple(names),
        tuple(returning),
        tuple(sorted(templates)),
    )
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = _insert_statement(
            model, tuple(constants), tuple(names), tuple(returning), frozenset(templates)
        )
    sql, prepare, preparers = shape
    fixed_values = (
        list(constants.values())
        if prepare is None
        else list(prepare([tuple(constants.values())])[0])
    )
    postgres = connection.vendor == "postgresql"
    # Parameters in the order of the statement's placeholders.
    patterns = [templates[n] for n in names if n in templates]
    out: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, count, _ROWS_PER_CALL):
            part = []
            for n in names:
                values = columns[n][start : start + _ROWS_PER_CALL]
                prepare_one = preparers[n]
                if prepare_one is not None:
                    values = [row[0] for row in prepare_one([(v,) for v in values])]
                part.append(values)
            if postgres:
                params = [
                    *fixed_values,
                    *patterns,
                    *(_array_text(list(values)) for values in part),
                ]
            else:
                params = [*fixed_values, *patterns, json.dumps(list(zip(*part, strict=True)))]
            cursor.execute(sql, params)
            if returning:
                out.extend(tuple(r) for r in cursor.fetchall())
    return out


def _insert_statement(
    model: type[Any],
    fixed: tuple[str, ...],
    names: tuple[str, ...],
    returning: tuple[str, ...],
    templated: frozenset[str],
) -> tuple[str, Any, dict[str, Any]]:
    """insert_columns' statement and value preparers, built once per shape (model, columns,
    database): building them cost more than a one-row insert's round trip."""
    qn = connection.ops.quote_name
    fields = {n: model._meta.get_field(n) for n in (*fixed, *names)}
    postgres = connection.vendor == "postgresql"

    def cast(name: str) -> str:
        return f"::{fields[name].cast_db_type(connection)}" if postgres else ""

    def filled(name: str, value: str) -> str:
        if name not in templated:
            return value
        if postgres:
            return f"format(%s, {value}){cast(name)}"
        return f"printf(%s, {value})"

    target = ", ".join(qn(fields[n].column) for n in (*fixed, *names))
    selected = [f"%s{cast(n)}" for n in fixed]
    if postgres:
        arrays = ", ".join(f"%s{'::text' if n in templated else cast(n)}[]" for n in names)
        selected += [filled(n, f"u.c{i}") for i, n in enumerate(names)]
        source = f"unnest({arrays}) AS u({', '.join(f'c{i}' for i in range(len(names)))})"
    else:
        selected += [filled(n, f"j.value ->> {i}") for i, n in enumerate(names)]
        source = "json_each(%s) AS j"
    back = ", ".join(
        qn(model._meta.pk.column if n == "pk" else model._meta.get_field(n).column)
        for n in returning
    )
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({target}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM {source}" + (f" RETURNING {back}" if back else "")
    )
    # Each varying column prepared as insert_rows would (moments as SQLite's text, ...).
    preparers = {n: None if n in templated else _preparer(model, [n]) for n in names}
    return sql, _preparer(model, list(fixed)), preparers


def _array_text(values: list[Any]) -> str:
    """PostgreSQL's text form of a one-dimensional array of these values (numbers, booleans,
    text, dates, aware datetimes, None)."""
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    # Each distinct value written once: a batch repeats a few due dates and words many times.
    # Keyed by type too: True == 1 == 1.0 and must not share a text.
    written: dict[tuple[type, Any], str] = {}
    parts = []
    for value in values:
        key = (type(value), value)
        text = written.get(key)
        if text is None:
            text = written[key] = _array_element(value)
        parts.append(text)
    return "{" + ",".join(parts) + "}"


def _array_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):  # dates and datetimes (isoformat keeps the offset)
        return value.isoformat()
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


RETURNING_ROWS = 500  # multi-row INSERT ... RETURNING up to this many rows per statement
NUMBERED_ROWS = 100  # SQLite: above this, `_sqlite_insert_numbered` instead of RETURNING


def insert_returning(
    model: type[Any],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning: Sequence[str],
    *,
    ignore_conflicts: bool = False,
) -> list[tuple[Any, ...]]:
    """INSERT rows like `insert_rows` and return the `returning` columns of the rows actually
    inserted (with `ignore_conflicts`, the skipped ones are not returned): one multi-row
    `INSERT ... RETURNING` per RETURNING_ROWS rows, no read-back query. For small batches."""
    if not rows:
        return []
    qn = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(qn(meta.get_field(n).column) for n in names)
    back = ", ".join(
        qn(meta.pk.column if n == "pk" else meta.get_field(n).column) for n in returning
    )
    row_marks = "(" + ", ".join(["%s"] * len(names)) + ")"
    prepare = _preparer(model, names)
    conflict = ""
    verb = "INSERT"
    if ignore_conflicts and connection.vendor == "postgresql":
        conflict = " ON CONFLICT DO NOTHING"
    elif ignore_conflicts:
        verb = "INSERT OR IGNORE"
    if connection.vendor == "sqlite" and not ignore_conflicts and len(rows) > NUMBERED_ROWS:
        by_rowid = _sqlite_insert_numbered(model, names, rows, returning)
        if by_rowid is not None:
            return by_rowid
    out: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for batch in chunks(rows, RETURNING_ROWS):
            prepared = batch if prepare is None else prepare(batch)
            values = ", ".join([row_marks] * len(prepared))
            sql = (
                f"{verb} INTO {qn(meta.db_table)} ({columns}) VALUES {values}{conflict} "
                f"RETURNING {back}"
            )
            cursor.execute(sql, [v for row in prepared for v in row])
            out.extend(tuple(r) for r in cursor.fetchall())
    return out


def _sqlite_insert_numbered(
    model: type[Any],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning: Sequence[str],
) -> list[tuple[Any, ...]] | None:
    """SQLite: `insert_returning` as one `executemany` whose new ids are known without
    RETURNING, for batches above NUMBERED_ROWS (a multi-row INSERT ... RETURNING is parsed
    anew for every batch size: ~40 µs a row for enrolments, against ~27 µs for executemany).
    The transaction holds SQLite's only write lock, and a new rowid is the table's largest
    plus one, so the batch's ids are the ids above the largest one before it, in insertion
    order. None when that cannot be used (a primary key that is not an integer, or a
    returned column that is not inserted)."""
    meta = model._meta
    if meta.pk.get_internal_type() not in ("AutoField", "BigAutoField", "SmallAutoField"):
        return None
    index = {n: i for i, n in enumerate(names)}
    if any(n != "pk" and n not in index for n in returning):
        return None
    qn = connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max({pk}) FROM {table}")  # noqa: S608 (quoted names)
        before = cursor.fetchone()[0] or 0
        insert_rows(model, names, rows)
        cursor.execute("SELECT last_insert_rowid()")
        last = cursor.fetchone()[0]
    if last == before + len(rows):
        ids: Sequence[int] = range(before + 1, last + 1)
    else:  # an AUTOINCREMENT table (ADR 0023) whose newest rows were deleted: ids skip ahead
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk} FROM {table} WHERE {pk} > %s ORDER BY {pk}", [before])  # noqa: S608
            ids = [r[0] for r in cursor.fetchall()]
    if len(ids) != len(rows):  # never expected: fail loudly rather than mislabel rows
        raise RuntimeError(f"{meta.db_table}: {len(rows)} rows inserted, {len(ids)} new ids")
    picks = [None if n == "pk" else index[n] for n in returning]
    return [
        tuple(pk_value if i is None else row[i] for i in picks)
        for pk_value, row in zip(ids, rows, strict=True)
    ]


def update_rows(
    model: type[Any], names: Sequence[str], rows: Sequence[tuple[int, Sequence[Any]]]
) -> None:
    """UPDATE the `names` columns of many rows, each given as (primary key, values)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = model._meta.db_table
    columns = [model._meta.get_field(n).column for n in names]
    postgres = connection.vendor == "postgresql"
    prepare = _preparer(model, names, copy=postgres)
    with connection.cursor() as cursor:
        if postgres:
            temp_name = f"_uptake_update_{table}"
            temp = qn(temp_name)
            selected = ", ".join(qn(c) for c in ["id", *columns])
            sets = ", ".join(f"{qn(c)} = u.{qn(c)}" for c in columns)
            cursor.execute(f"DROP TABLE IF EXISTS {temp}")
            cursor.execute(
                f"CREATE TEMP TABLE {temp} AS SELECT {selected} FROM {qn(table)} WITH NO DATA"  # noqa: S608
            )
            _copy(cursor, temp_name, ["id", *columns], _with_pk(rows, prepare))
            cursor.execute(
                f"UPDATE {qn(table)} AS t SET {sets} FROM {temp} AS u WHERE t.id = u.id"  # noqa: S608
            )
            cursor.execute(f"DROP TABLE {temp}")
            return
        assignments = ", ".join(f"{qn(c)} = %s" for c in columns)
        sql = f"UPDATE {qn(table)} SET {assignments} WHERE {qn('id')} = %s"  # noqa: S608
        for batch in chunks(rows, _ROWS_PER_CALL):
            cursor.executemany(sql, [[*v, pk] for pk, v in _with_pk(batch, prepare, last=True)])


def _with_pk(
    rows: Sequence[tuple[int, Sequence[Any]]], prepare: Any, *, last: bool = False
) -> list[Any]:
    """Prepared (pk, *values) rows, or (pk, values) pairs with `last` (for executemany)."""
    values = [v for _pk, v in rows]
    if prepare is not None and values:
        values = prepare(values)
    if last:
        return [(pk, v) for (pk, _v), v in zip(rows, values, strict=True)]
    return [(pk, *v) for (pk, _v), v in zip(rows, values, strict=True)]
