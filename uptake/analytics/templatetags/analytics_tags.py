"""Formatting report cells for screens (exports keep the raw values)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def cell(value: Any, kind: str) -> str:
    if value is None or value == "":
        return "–"
    if kind == "percent":
        return f"{float(value) * 100:.1f}%"
    if kind == "float" and float(value).is_integer():
        kind = "int"
    if kind == "float":
        return formats.number_format(round(float(value), 1), decimal_pos=1, use_l10n=True)
    if kind == "int":
        return formats.number_format(int(value), use_l10n=True, force_grouping=True)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATE_FORMAT")
    if kind == "date" and isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


@register.filter
def zip_columns(row: Any, columns: Any) -> list[tuple[Any, Any]]:
    return list(zip(row, columns, strict=True))
