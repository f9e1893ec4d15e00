"""The row-based builder's form <-> rules (pure, no ORM).

The builder shows a rule as "match all/any of" a list of rows (attribute, operator, value
typed as text). Rules that are not such a flat list (nested groups, "not") are edited as text
only. Row values are typed as people type them: `Sales`, `London, Paris` for a list,
`2025-01-31`, `30`, `true`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from uptake.audiences import rules
from uptake.core.errors import FieldProblem, ValidationFailed


@dataclass(frozen=True)
class Row:
    attr: str
    op: str
    value: str = ""


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def rows_from_rule(rule: Mapping[str, Any]) -> tuple[str, list[Row]] | None:
    """("all"|"any", rows) for a flat rule; None when it needs the text syntax."""
    if "not" in rule:
        return None
    if "all" in rule or "any" in rule:
        key = "all" if "all" in rule else "any"
        children = rule[key]
        if any(("all" in c or "any" in c or "not" in c) for c in children):
            return None
        return key, [Row(c["attr"], c["op"], _value_text(c.get("value"))) for c in children]
    return "all", [Row(rule["attr"], rule["op"], _value_text(rule.get("value")))]


def _scalar(kind: str, op: str, text: str) -> Any:
    text = text.strip()
    if kind == rules.NUMBER or (kind == rules.DATE and op == "within_last_days"):
        try:
            return int(text)
        except ValueError:
            return text  # validation says what is wrong
    if kind == rules.BOOL:
        lowered = text.lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        return text
    if kind == rules.CUSTOM and rules.NUMERIC_TEXT_RE.match(text):
        return int(text) if "." not in text else float(text)
    return text


def rule_from_rows(match: str, rows: Sequence[Row]) -> dict[str, Any]:
    """The canonical rule of the builder's rows; ValidationFailed naming the row at fault."""
    leaves: list[dict[str, Any]] = []
    problems: list[FieldProblem] = []
    for number, row in enumerate(rows, start=1):
        kind = rules.attribute_type(row.attr)
        try:
            if kind is None:
                raise rules.RuleError(rules.unknown_attribute(row.attr))
            if row.op in rules.NO_VALUE:
                leaves.append(rules.check_condition(row.attr, row.op, None, has_value=False))
                continue
            if row.op in rules.LIST_OPS:
                value: Any = [_scalar(kind, row.op, v) for v in row.value.split(",") if v.strip()]
            else:
                value = _scalar(kind, row.op, row.value)
            leaves.append(rules.check_condition(row.attr, row.op, value, has_value=True))
        except rules.RuleError as exc:
            problems.append(FieldProblem(f"condition {number}: {exc.message}", "rule", number))
    if problems:
        raise ValidationFailed(
            "The rule is not valid: " + "; ".join(p.message for p in problems), errors=problems
        )
    return rules.validate({"any" if match == "any" else "all": leaves})
