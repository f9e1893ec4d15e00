"""Set-based reads and writes for rule batches of up to 100,000 people.

Two habits keep a full recompute within seconds: a large batch scans the rows it needs once
(filtering in Python) instead of sending tens of thousands of `IN (...)` parameters, each
prepared by the ORM; and new rows are inserted with executemany / COPY instead of
bulk_create, which prepares every value of every row through the model fields (the technique
of the HR import in people/services.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from django.db import connection
from django.db.models import QuerySet

T = TypeVar("T")
IN_CHUNK = 5000
WHOLE_SCAN = 2000  # above this many ids, scan and filter in Python
_ROWS_PER_CALL = 20_000


def chunks(items: list[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
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


def insert_rows(
    model: type[Any],
    names: list[str],
    rows: list[tuple[Any, ...]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """INSERT rows (values in `names` order) without model instances. Text, numbers and
    foreign keys pass as they are; dates and times are prepared once per distinct value; JSON
    (dicts) through the field. With `ignore_conflicts`, rows that break a unique constraint are
    skipped (INSERT OR IGNORE / ON CONFLICT DO NOTHING), like bulk_create's option."""
    if not rows:
        return
    qn = connection.ops.quote_name
    fields = [model._meta.get_field(n) for n in names]
    columns = [f.column for f in fields]
    caches: list[dict[Any, Any]] = [{} for _ in fields]

    def prepare(row: tuple[Any, ...]) -> list[Any]:
        values = []
        for value, field, cache in zip(row, fields, caches, strict=True):
            if value is None or isinstance(value, (int, str, bool)):
                values.append(value)
            elif isinstance(value, dict):
                values.append(field.get_db_prep_save(value, connection))
            else:
                if value not in cache:
                    cache[value] = field.get_db_prep_save(value, connection)
                values.append(cache[value])
        return values

    table = model._meta.db_table
    with connection.cursor() as cursor:
        for batch in chunks(rows, _ROWS_PER_CALL):
            prepared = [prepare(r) for r in batch]
            cols = ", ".join(qn(c) for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            if ignore_conflicts:
                # Identifiers come from the model's metadata and are quoted; values are params.
                if connection.vendor == "postgresql":
                    sql = (
                        f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
                    )
                else:
                    sql = f"INSERT OR IGNORE INTO {qn(table)} ({cols}) VALUES ({marks})"  # noqa: S608
                cursor.executemany(sql, prepared)
            elif connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {qn(table)} ({cols}) FROM STDIN") as copy:
                    for values in prepared:
                        copy.write_row(values)
            else:
                # Identifiers come from the model's metadata and are quoted; values are params.
                cursor.executemany(f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})", prepared)  # noqa: S608
