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

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import QuerySet

T = TypeVar("T")
IN_CHUNK = 5000
WHOLE_SCAN = 2000  # above this many ids, scan and filter in Python (see rows_for)
_ROWS_PER_CALL = 20_000


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_for(
    qs: QuerySet[Any], field: str, ids: Iterable[int], *values: str, scan: bool = True
) -> list[tuple[Any, ...]]:
    """`qs.values_list(*values)` restricted to rows whose `field` is in `ids`; `field` must be
    the first of `values`. Chunked IN lists for a few ids; with `scan`, one pass over `qs` for
    many (only when `qs` is small next to the batch, e.g. one course's enrolments, never the
    whole organisation's people)."""
    wanted = set(ids)
    if not wanted:
        return []
    if scan and len(wanted) > WHOLE_SCAN:
        return [row for row in qs.values_list(*values) if row[0] in wanted]
    out: list[tuple[Any, ...]] = []
    for chunk in chunks(sorted(wanted)):
        out.extend(qs.filter(**{f"{field}__in": chunk}).values_list(*values))
    return out


def _preparer(model: type[Any], names: Sequence[str]) -> Any:
    """Prepare rows for the driver: text, numbers, booleans and None pass as they are; JSON
    (dict/list) through the field; dates, times and the rest once per distinct value."""
    fields = [model._meta.get_field(n) for n in names]
    caches: list[dict[Any, Any]] = [{} for _ in fields]

    def prepare(row: Sequence[Any]) -> list[Any]:
        values = []
        for value, field, cache in zip(row, fields, caches, strict=True):
            if value is None or isinstance(value, (int, str, bool, float)):
                values.append(value)
            elif isinstance(value, (dict, list)):
                values.append(field.get_db_prep_save(value, connection))
            else:
                if value not in cache:
                    cache[value] = field.get_db_prep_save(value, connection)
                values.append(cache[value])
        return values

    return prepare


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    qn = connection.ops.quote_name
    statement = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    with cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


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
    prepare = _preparer(model, names)
    # Identifiers come from the model's metadata and are quoted; values are parameters.
    if ignore_conflicts and connection.vendor == "postgresql":
        sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
    elif ignore_conflicts:
        sql = f"INSERT OR IGNORE INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608
    else:
        sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        for batch in chunks(rows, _ROWS_PER_CALL):
            prepared = [prepare(r) for r in batch]
            if connection.vendor == "postgresql" and not ignore_conflicts:
                _copy(cursor, table, columns, prepared)
            else:
                cursor.executemany(sql, prepared)


def update_rows(
    model: type[Any], names: Sequence[str], rows: Sequence[tuple[int, Sequence[Any]]]
) -> None:
    """UPDATE the `names` columns of many rows, each given as (primary key, values)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = model._meta.db_table
    columns = [model._meta.get_field(n).column for n in names]
    prepare = _preparer(model, names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            temp_name = f"_uptake_update_{table}"
            temp = qn(temp_name)
            selected = ", ".join(qn(c) for c in ["id", *columns])
            sets = ", ".join(f"{qn(c)} = u.{qn(c)}" for c in columns)
            cursor.execute(f"DROP TABLE IF EXISTS {temp}")
            cursor.execute(
                f"CREATE TEMP TABLE {temp} AS SELECT {selected} FROM {qn(table)} WITH NO DATA"  # noqa: S608
            )
            _copy(cursor, temp_name, ["id", *columns], ([pk, *prepare(v)] for pk, v in rows))
            cursor.execute(
                f"UPDATE {qn(table)} AS t SET {sets} FROM {temp} AS u WHERE t.id = u.id"  # noqa: S608
            )
            cursor.execute(f"DROP TABLE {temp}")
            return
        assignments = ", ".join(f"{qn(c)} = %s" for c in columns)
        sql = f"UPDATE {qn(table)} SET {assignments} WHERE {qn('id')} = %s"  # noqa: S608
        for batch in chunks(rows, _ROWS_PER_CALL):
            cursor.executemany(sql, [[*prepare(v), pk] for pk, v in batch])
