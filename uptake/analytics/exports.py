"""A report Table as CSV or Parquet: the table shown is the table downloaded."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from uptake.analytics.reports import Table

FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}

_ARROW = {
    "text": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "percent": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


def arrow_table(table: Table) -> pa.Table:
    schema = pa.schema([pa.field(c.key, _ARROW[c.kind]) for c in table.columns])
    columns = list(zip(*table.rows, strict=True)) if table.rows else [()] * len(table.columns)
    arrays = [
        pa.array([_arrow_value(v, c.kind) for v in col], type=_ARROW[c.kind])
        for c, col in zip(table.columns, columns, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "text":
        return str(value)
    if kind == "datetime" and isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def to_parquet(table: Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(arrow_table(table), buffer)
    return buffer.getvalue()


def _csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_csv(table: Table) -> bytes:
    """UTF-8 CSV with a header of column keys; shares as fractions (0..1), times in UTC ISO."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
    return out.getvalue().encode("utf-8")


def render(table: Table, fmt: str) -> bytes:
    if fmt == "csv":
        return to_csv(table)
    if fmt == "parquet":
        return to_parquet(table)
    raise ValueError(fmt)
