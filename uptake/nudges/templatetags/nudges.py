"""Small filters for the nudge screens (experiment tables)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def attr(obj: Any, name: str) -> Any:
    return getattr(obj, name, "")


@register.filter
def rate(arm: Any, metric: str) -> str:
    value = arm.rate(metric)
    return "–" if value is None else f"{value * 100:.1f}%"


@register.filter
def pp(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pp"


@register.filter
def subtract(a: int, b: int) -> int:
    return int(a) - int(b)
