"""Audience rules: the structure, its text syntax, and the reference evaluator (pure, no ORM).

A rule is a JSON tree (stored as is on the audience, never as code):

    {"all": [rule, ...]}          every sub-rule holds ({"all": []} is everyone)
    {"any": [rule, ...]}          at least one holds ({"any": []} is nobody)
    {"not": rule}                 the sub-rule does not hold
    {"attr": "department", "op": "eq", "value": "Sales"}     a condition

`validate` checks a tree and returns its canonical form (one-child groups unwrapped, nested
groups of the same kind flattened, values in their canonical type); `parse` reads the text
syntax with a real grammar (lark, LALR) and `to_text` writes it back, so that
`parse(to_text(rule)) == rule` for every valid canonical rule. `matches` is the straightforward
reference evaluator over a person's facts; the SQL compiler (compile.py) must agree with it.

Semantics worth knowing:
- A missing value (no hire date, no manager, no such custom attribute) matches no positive
  condition: `hire_date before 2020-01-01`, `tenure_days > 10`, `custom.level = "L1"` are false,
  and their negations (`ne`, `not_in`, `not (...)`) are true.
- Text equality (`eq`, `in`) is exact; `contains` and `starts with` ignore case (letters A-Z
  everywhere; other letters where the database folds them too).
- `tenure_days` is the number of days since the hire date (negative before it).
- `within_last_days N` holds for dates from N days ago up to today.
- `custom.<name>` compares text when the value is text and numbers when the value is a number;
  a custom value that is text holding a number ("3", "-2.5") takes part in numeric comparisons.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from uptake.core.errors import FieldProblem, ValidationFailed

# --- The attribute catalogue -----------------------------------------------------------------

STRING = "string"
DATE = "date"
NUMBER = "number"
BOOL = "bool"
PERSON = "person"  # the direct manager, by employee id
PERSON_ANY = "person_any"  # anyone above, by employee id
ROLE_SET = "set"
CUSTOM = "custom"

CUSTOM_PREFIX = "custom."
CUSTOM_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$")

STRING_ATTRIBUTES = (
    "employee_id",
    "email",
    "first_name",
    "last_name",
    "job_title",
    "role_family",
    "department",
    "location",
    "country",
    "time_zone",
    "language",
    "employment_type",
)

ATTRIBUTES: dict[str, str] = {
    **{name: STRING for name in STRING_ATTRIBUTES},
    "hire_date": DATE,
    "tenure_days": NUMBER,
    "is_active": BOOL,
    "manager": PERSON,
    "reports_to": PERSON,
    "reports_to_any": PERSON_ANY,
    "role": ROLE_SET,
}

# Effective roles a rule may name (see uptake.people.rules.effective_roles).
ROLES = (
    "learner",
    "manager",
    "platform_admin",
    "content_owner",
    "data_steward",
    "business_sponsor",
)

OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "before",
    "after",
    "within_last_days",
    "empty",
    "not_empty",
    "lt",
    "le",
    "gt",
    "ge",
)
NO_VALUE = frozenset({"empty", "not_empty"})
LIST_OPS = frozenset({"in", "not_in"})
NUMERIC_OPS = frozenset({"lt", "le", "gt", "ge"})

ALLOWED: dict[str, tuple[str, ...]] = {
    STRING: ("eq", "ne", "in", "not_in", "contains", "starts_with", "empty", "not_empty"),
    DATE: ("eq", "ne", "before", "after", "within_last_days", "empty", "not_empty"),
    NUMBER: ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "empty", "not_empty"),
    BOOL: ("eq", "ne"),
    PERSON: ("eq", "ne", "in", "not_in", "empty", "not_empty"),
    PERSON_ANY: ("eq", "ne", "in", "not_in"),
    ROLE_SET: ("eq", "ne", "in", "not_in"),
    CUSTOM: (
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "starts_with",
        "empty",
        "not_empty",
        "lt",
        "le",
        "gt",
        "ge",
    ),
}

TYPE_NAMES = {
    STRING: "text",
    DATE: "a date",
    NUMBER: "a number",
    BOOL: "true or false",
    PERSON: "a person (employee id)",
    PERSON_ANY: "a person (employee id)",
    ROLE_SET: "a set of roles",
    CUSTOM: "a custom attribute",
}

OP_TEXT = {
    "eq": "=",
    "ne": "!=",
    "in": "in",
    "not_in": "not in",
    "contains": "contains",
    "starts_with": "starts with",
    "before": "before",
    "after": "after",
    "within_last_days": "within last N days",
    "empty": "is empty",
    "not_empty": "is not empty",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
}

MAX_DEPTH = 12
MAX_NODES = 200
MAX_LIST = 500
MAX_TEXT = 10_000
MAX_VALUE_LENGTH = 500
# Numbers held as custom text take part in numeric comparisons when they look like this
# (bounded so that every database converts them the same way).
NUMERIC_TEXT_RE = re.compile(r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$")


def attribute_type(attr: str) -> str | None:
    """The type of an attribute name, or None if there is no such attribute."""
    if attr.startswith(CUSTOM_PREFIX):
        key = attr[len(CUSTOM_PREFIX) :]
        return CUSTOM if CUSTOM_KEY_RE.match(key) else None
    return ATTRIBUTES.get(attr)


def custom_key(attr: str) -> str:
    return attr[len(CUSTOM_PREFIX) :]


# --- Validation --------------------------------------------------------------------------------


class RuleError(ValueError):
    """One problem in a rule; `where` is a path like "all[1]" (JSON) or None."""

    def __init__(self, message: str, where: str | None = None, *, on_value: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.on_value = on_value  # the value is at fault (not the attribute or operator)


def _suggest(attr: str) -> str:
    names = [*ATTRIBUTES, "custom.<name>"]
    close = difflib.get_close_matches(attr, names, n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_attribute(attr: str) -> str:
    if attr.startswith(CUSTOM_PREFIX):
        return (
            f"{attr!r} is not a valid custom attribute name (letters, digits, _ . - and "
            "spaces, at most 64)"
        )
    return f"unknown attribute {attr!r}{_suggest(attr)}"


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return str(value)


def _wrong_type(attr: str, kind: str, op: str, value: Any, wanted: str) -> RuleError:
    return RuleError(
        f"wrong type for operator {OP_TEXT[op]!r}: {attr} is {TYPE_NAMES[kind]}, "
        f"so the value must be {wanted}, not {_describe(value)}",
        on_value=True,
    )


def _check_scalar(attr: str, kind: str, op: str, value: Any) -> Any:
    """The canonical value of one scalar, or RuleError."""
    if kind in (STRING, PERSON, PERSON_ANY):
        if not isinstance(value, str):
            raise _wrong_type(attr, kind, op, value, "text in quotes")
        if len(value) > MAX_VALUE_LENGTH:
            raise RuleError(f"the value is longer than {MAX_VALUE_LENGTH} characters")
        return value
    if kind == ROLE_SET:
        if not isinstance(value, str):
            raise _wrong_type(attr, kind, op, value, "a role name in quotes")
        if value not in ROLES:
            raise RuleError(f"unknown role {value!r}; roles are {', '.join(ROLES)}", on_value=True)
        return value
    if kind == NUMBER:
        if not isinstance(value, int) or isinstance(value, bool):
            if _is_number(value) and float(value).is_integer():
                return int(value)
            raise _wrong_type(attr, kind, op, value, "a whole number of days")
        return value
    if kind == BOOL:
        if not isinstance(value, bool):
            raise _wrong_type(attr, kind, op, value, "true or false")
        return value
    if kind == DATE:
        day = _as_date(value)
        if day is None:
            raise _wrong_type(attr, kind, op, value, "a date like 2025-01-31")
        return day.isoformat()
    # custom: text, or a number
    if isinstance(value, str):
        if len(value) > MAX_VALUE_LENGTH:
            raise RuleError(f"the value is longer than {MAX_VALUE_LENGTH} characters")
        return value
    if _is_number(value):
        return value
    raise _wrong_type(attr, kind, op, value, "text in quotes or a number")


def check_condition(attr: Any, op: Any, value: Any, *, has_value: bool) -> dict[str, Any]:
    """The canonical condition {"attr", "op", "value"?}, or RuleError saying what is wrong."""
    if not isinstance(attr, str) or not attr:
        raise RuleError("a condition needs an attribute name ('attr')")
    kind = attribute_type(attr)
    if kind is None:
        raise RuleError(unknown_attribute(attr))
    if op not in OPERATORS:
        raise RuleError(f"unknown operator {op!r}; operators are {', '.join(OPERATORS)}")
    if op not in ALLOWED[kind]:
        allowed = ", ".join(repr(OP_TEXT[o]) for o in ALLOWED[kind])
        raise RuleError(
            f"wrong type for operator {OP_TEXT[op]!r}: {attr} is {TYPE_NAMES[kind]}; "
            f"use one of {allowed}"
        )
    if op in NO_VALUE:
        if has_value and value is not None:
            raise RuleError(f"{OP_TEXT[op]!r} takes no value")
        return {"attr": attr, "op": op}
    if not has_value:
        raise RuleError(f"{OP_TEXT[op]!r} needs a value")
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise RuleError(f'{OP_TEXT[op]!r} needs a non-empty list of values, e.g. ("a", "b")')
        if len(value) > MAX_LIST:
            raise RuleError(f"a list holds at most {MAX_LIST} values")
        items = [_check_scalar(attr, kind, op, v) for v in value]
        if kind == CUSTOM and len({isinstance(v, str) for v in items}) > 1:
            raise RuleError("the list mixes text and numbers; use one or the other")
        return {"attr": attr, "op": op, "value": items}
    if isinstance(value, list):
        raise RuleError(f"{OP_TEXT[op]!r} takes one value, not a list (use 'in' for a list)")
    if op == "within_last_days":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _wrong_type(attr, kind, op, value, "a number of days (0 or more)")
        return {"attr": attr, "op": op, "value": value}
    if op in NUMERIC_OPS and kind == CUSTOM and not _is_number(value):
        raise _wrong_type(attr, kind, op, value, "a number")
    if op in ("contains", "starts_with") and (not isinstance(value, str) or value == ""):
        if isinstance(value, str):
            raise RuleError(f"{OP_TEXT[op]!r} needs some text; use 'is empty' for blank values")
        raise _wrong_type(attr, kind, op, value, "text in quotes")
    return {"attr": attr, "op": op, "value": _check_scalar(attr, kind, op, value)}


def _canonical(node: Any, where: str, depth: int, count: list[int]) -> dict[str, Any]:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise RuleError(f"the rule has more than {MAX_NODES} parts", where)
    if depth > MAX_DEPTH:
        raise RuleError(f"the rule is nested more than {MAX_DEPTH} levels deep", where)
    if not isinstance(node, dict):
        raise RuleError("expected an object: {all: [...]}, {any: [...]}, {not: {...}}", where)
    groups = [k for k in ("all", "any", "not") if k in node]
    if groups:
        key = groups[0]
        if len(node) != 1:
            extra = sorted(k for k in node if k != key)
            raise RuleError(f"{key!r} cannot be combined with {', '.join(extra)}", where)
        if key == "not":
            return {"not": _canonical(node["not"], f"{where}.not", depth + 1, count)}
        children = node[key]
        if not isinstance(children, list):
            raise RuleError(f"{key!r} must be a list of rules", where)
        out: list[dict[str, Any]] = []
        for i, child in enumerate(children):
            item = _canonical(child, f"{where}.{key}[{i}]", depth + 1, count)
            if key in item and len(item) == 1:
                out.extend(item[key])  # flatten (a and (b and c)) -> (a and b and c)
            else:
                out.append(item)
        if len(out) == 1:
            return out[0]
        return {key: out}
    unknown = sorted(set(node) - {"attr", "op", "value"})
    if unknown:
        raise RuleError(f"unexpected key {unknown[0]!r}; a condition has attr, op and value", where)
    try:
        return check_condition(
            node.get("attr"), node.get("op"), node.get("value"), has_value="value" in node
        )
    except RuleError as exc:
        raise RuleError(exc.message, where) from None


def validate(rule: Any) -> dict[str, Any]:
    """The canonical form of a rule tree; ValidationFailed (field "rule") saying where and why.

    Canonical: groups of one are unwrapped, nested groups of the same kind are flattened,
    dates are ISO strings, whole numbers of days are ints.
    """
    try:
        return _canonical(rule, "rule", 0, [0])
    except RuleError as exc:
        message = f"{exc.where}: {exc.message}" if exc.where else exc.message
        raise ValidationFailed(
            f"The rule is not valid: {message}", errors=[FieldProblem(message, "rule")]
        ) from None


def attributes_used(rule: Mapping[str, Any]) -> frozenset[str]:
    """Every attribute name the rule mentions."""
    found: set[str] = set()

    def walk(node: Mapping[str, Any]) -> None:
        if "all" in node or "any" in node:
            for child in node.get("all", node.get("any", [])):
                walk(child)
        elif "not" in node:
            walk(node["not"])
        else:
            found.add(node["attr"])

    walk(rule)
    return frozenset(found)


def conditions(rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every condition of the rule, depth first."""
    out: list[dict[str, Any]] = []

    def walk(node: Mapping[str, Any]) -> None:
        if "all" in node or "any" in node:
            for child in node.get("all", node.get("any", [])):
                walk(child)
        elif "not" in node:
            walk(node["not"])
        else:
            out.append(dict(node))

    walk(rule)
    return out


# --- The text syntax -----------------------------------------------------------------------------

GRAMMAR = r"""
?start: expr

?expr: or_expr
?or_expr: and_expr (_OR and_expr)*  -> any_
?and_expr: not_expr (_AND not_expr)* -> all_
?not_expr: _NOT not_expr            -> not_
         | atom
?atom: "(" expr ")"
     | condition
     | _EVERYONE                    -> everyone
     | _NOBODY                      -> nobody

condition: ATTR COMPARE value                              -> compare
         | ATTR _IN list                                   -> in_
         | ATTR _NOT _IN list                              -> not_in
         | ATTR _CONTAINS value                            -> contains
         | ATTR _STARTS _WITH value                        -> starts_with
         | ATTR _BEFORE value                              -> before
         | ATTR _AFTER value                               -> after
         | ATTR _WITHIN _THE? _LAST INT _DAYS              -> within
         | ATTR _IS _EMPTY                                 -> empty
         | ATTR _IS _NOT _EMPTY                            -> not_empty
         | ATTR value                                      -> shorthand

list: "(" value ("," value)* ","? ")"

value: STRING        -> string
      | SQSTRING      -> sqstring
      | DATE          -> date
      | NUMBER        -> number
      | INT           -> number
      | _TRUE         -> true
      | _FALSE        -> false

_OR: "or"i
_AND: "and"i
_NOT: "not"i
_IN: "in"i
_CONTAINS: "contains"i
_STARTS: "starts"i
_WITH: "with"i
_BEFORE: "before"i
_AFTER: "after"i
_WITHIN: "within"i
_THE: "the"i
_LAST: "last"i
_DAYS: "days"i | "day"i
_IS: "is"i
_EMPTY: "empty"i
_TRUE: "true"i
_FALSE: "false"i
_EVERYONE: "everyone"i
_NOBODY: "nobody"i

COMPARE: "==" | "!=" | "<>" | "<=" | ">=" | "=" | "<" | ">"
ATTR: /custom\."(?:[^"\\\n]|\\.)*"|custom\.[A-Za-z0-9_][A-Za-z0-9_.\-]*|[A-Za-z_][A-Za-z0-9_]*/
STRING: /"(?:[^"\\\n]|\\.)*"/
SQSTRING: /'(?:[^'\\\n]|\\.)*'/
DATE.3: /\d{4}-\d{2}-\d{2}(?![\d])/
NUMBER.2: /-?\d+\.\d+([eE][+-]?\d+)?|-?\d+[eE][+-]?\d+|-\d+/
INT: /\d+/

%import common.WS
%ignore WS
"""

_COMPARE_OPS = {"=": "eq", "==": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le", ">": "gt"}
_COMPARE_OPS[">="] = "ge"

_parser = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


@dataclass(frozen=True)
class _Value:
    value: Any
    line: int
    column: int


def _where(line: int, column: int) -> str:
    return f"line {line}, column {column}"


class _TextError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


_BARE_CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def _attr_name(token: Token) -> str:
    """`custom."cost centre"` (a quoted custom name) -> `custom.cost centre`."""
    text = str(token)
    if text.startswith(CUSTOM_PREFIX + '"'):
        return CUSTOM_PREFIX + json.loads(text[len(CUSTOM_PREFIX) :])
    return text


def _attr_text(attr: str) -> str:
    if attr.startswith(CUSTOM_PREFIX) and not _BARE_CUSTOM_KEY.match(custom_key(attr)):
        return CUSTOM_PREFIX + json.dumps(custom_key(attr), ensure_ascii=False)
    return attr


class _Build(Transformer[Token, Any]):
    """Turns the parse tree into a rule, checking each condition where it stands."""

    @staticmethod
    def _join(key: str, items: list[Any]) -> dict[str, Any]:
        out: list[dict[str, Any]] = []
        for item in items:
            if key in item and len(item) == 1:
                out.extend(item[key])
            else:
                out.append(item)
        return out[0] if len(out) == 1 else {key: out}

    def any_(self, items: list[Any]) -> dict[str, Any]:
        return self._join("any", items)

    def all_(self, items: list[Any]) -> dict[str, Any]:
        return self._join("all", items)

    def not_(self, items: list[Any]) -> dict[str, Any]:
        return {"not": items[0]}

    def everyone(self, _items: list[Any]) -> dict[str, Any]:
        return {"all": []}

    def nobody(self, _items: list[Any]) -> dict[str, Any]:
        return {"any": []}

    @v_args(inline=True)
    def string(self, token: Token) -> _Value:
        return _Value(json.loads(str(token)), token.line or 0, token.column or 0)

    @v_args(inline=True)
    def sqstring(self, token: Token) -> _Value:
        body = str(token)[1:-1]
        text = re.sub(r"\\(.)", lambda m: m.group(1), body)
        return _Value(text, token.line or 0, token.column or 0)

    @v_args(inline=True)
    def date(self, token: Token) -> _Value:
        return _Value(_as_date(str(token)) or str(token), token.line or 0, token.column or 0)

    @v_args(inline=True)
    def number(self, token: Token) -> _Value:
        text = str(token)
        value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
        return _Value(value, token.line or 0, token.column or 0)

    def true(self, _items: list[Any]) -> _Value:
        return _Value(True, 0, 0)

    def false(self, _items: list[Any]) -> _Value:
        return _Value(False, 0, 0)

    def list(self, items: list[_Value]) -> _Value:
        return _Value([i.value for i in items], items[0].line, items[0].column)

    def _leaf(
        self, attr: Token, op: str, value: _Value | None, op_token: Token | None = None
    ) -> dict[str, Any]:
        name = _attr_name(attr)
        line, column = attr.line or 0, attr.column or 0
        if attribute_type(name) is None:
            raise _TextError(unknown_attribute(name), line, column)
        raw = value.value if value is not None else None
        if isinstance(raw, dt.date):
            raw = raw.isoformat()
        try:
            return check_condition(name, op, raw, has_value=value is not None)
        except RuleError as exc:
            if exc.on_value and value is not None and value.line:
                line, column = value.line, value.column
            elif op_token is not None and "use one of" in exc.message:
                line, column = op_token.line or line, op_token.column or column
            raise _TextError(exc.message, line, column) from None

    @v_args(inline=True)
    def compare(self, attr: Token, op: Token, value: _Value) -> dict[str, Any]:
        return self._leaf(attr, _COMPARE_OPS[str(op)], value, op)

    @v_args(inline=True)
    def in_(self, attr: Token, value: _Value) -> dict[str, Any]:
        return self._leaf(attr, "in", value)

    @v_args(inline=True)
    def not_in(self, attr: Token, value: _Value) -> dict[str, Any]:
        return self._leaf(attr, "not_in", value)

    @v_args(inline=True)
    def contains(self, attr: Token, value: _Value) -> dict[str, Any]:
        return self._leaf(attr, "contains", value)

    @v_args(inline=True)
    def starts_with(self, attr: Token, value: _Value) -> dict[str, Any]:
        return self._leaf(attr, "starts_with", value)

    @v_args(inline=True)
    def before(self, attr: Token, value: _Value) -> dict[str, Any]:
        return self._leaf(attr, "before", value)

    @v_args(inline=True)
    def after(self, attr: Token, value: _Value) -> dict[str, Any]:
        return self._leaf(attr, "after", value)

    @v_args(inline=True)
    def within(self, attr: Token, days: Token) -> dict[str, Any]:
        value = _Value(int(str(days)), days.line or 0, days.column or 0)
        return self._leaf(attr, "within_last_days", value)

    @v_args(inline=True)
    def empty(self, attr: Token) -> dict[str, Any]:
        return self._leaf(attr, "empty", None)

    @v_args(inline=True)
    def not_empty(self, attr: Token) -> dict[str, Any]:
        return self._leaf(attr, "not_empty", None)

    @v_args(inline=True)
    def shorthand(self, attr: Token, value: _Value) -> dict[str, Any]:
        # `reports_to "E001"` reads naturally; any other attribute needs an operator.
        name = _attr_name(attr)
        if attribute_type(name) in (PERSON, PERSON_ANY) and name != "manager":
            return self._leaf(attr, "eq", value)
        if attribute_type(name) is None:
            raise _TextError(unknown_attribute(name), attr.line or 0, attr.column or 0)
        raise _TextError(
            f"expected an operator after {attr} (=, !=, in, contains, ...)",
            value.line or attr.line or 0,
            value.column or attr.column or 0,
        )


def _check_parentheses(text: str) -> None:
    """Unbalanced parentheses, reported where they are (quotes are skipped)."""
    stack: list[tuple[int, int]] = []
    line, column = 1, 0
    quote: str | None = None
    escaped = False
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
            quote = None
            continue
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char == "(":
            stack.append((line, column))
        elif char == ")":
            if not stack:
                raise _TextError(
                    "unbalanced parentheses: this ')' has no matching '('", line, column
                )
            stack.pop()
    if stack:
        open_line, open_column = stack[-1]
        raise _TextError("unbalanced parentheses: this '(' is never closed", open_line, open_column)


_TOKEN_NAMES = {
    "ATTR": "an attribute",
    "COMPARE": "an operator",
    "STRING": "a quoted value",
    "SQSTRING": "a quoted value",
    "NUMBER": "a number",
    "INT": "a number",
    "DATE": "a date",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "$END": "the end of the rule",
}


def _expected(expected: Collection[str], text_before: str = "") -> str:
    # LALR merges states, so "," and ")" may be offered where no list or group is open.
    wanted = set(expected) - {"COMMA"}
    if text_before.count("(") <= text_before.count(")"):
        wanted.discard("RPAR")
    names = sorted({_TOKEN_NAMES.get(e, e.lstrip("_").lower()) for e in wanted})
    if len(names) > 6:
        return "; expected an operator (=, !=, <, in, contains, is empty, ...)"
    return f"; expected {', '.join(names)}" if names else ""


def _syntax_error(exc: UnexpectedInput, text: str) -> _TextError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        if char in "\"'":
            return _TextError("unclosed quote", exc.line, exc.column)
        return _TextError(f"unexpected character {char!r}", exc.line, exc.column)
    if isinstance(exc, UnexpectedEOF):
        lines = text.splitlines() or [""]
        return _TextError(
            "the rule ends too early" + _expected(exc.expected),
            len(lines),
            len(lines[-1]) + 1,
        )
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            lines = text.splitlines() or [""]
            return _TextError(
                "the rule ends too early" + _expected(exc.expected), len(lines), len(lines[-1]) + 1
            )
        before = text[: token.start_pos] if token.start_pos is not None else text
        return _TextError(
            f"unexpected {str(token)!r}" + _expected(exc.expected, before),
            token.line or exc.line,
            token.column or exc.column,
        )
    return _TextError(str(exc), exc.line, exc.column)


def parse(text: str) -> dict[str, Any]:
    """The canonical rule written in `text`; ValidationFailed whose message (field "rule") says
    "line L, column C: reason" (unknown attribute, wrong type for the operator, unbalanced
    parentheses, unexpected token). Never evaluates anything."""
    try:
        if len(text) > MAX_TEXT:
            raise _TextError(f"the rule is longer than {MAX_TEXT} characters", 1, 1)
        if not text.strip():
            raise _TextError("the rule is empty; write a condition or 'everyone'", 1, 1)
        _check_parentheses(text)
        try:
            tree = _parser.parse(text)
        except UnexpectedInput as exc:
            raise _syntax_error(exc, text) from None
        try:
            built = _Build().transform(tree)
        except Exception as exc:  # lark wraps errors raised in callbacks
            inner = getattr(exc, "orig_exc", exc)
            if isinstance(inner, _TextError):
                raise inner from None
            raise
    except _TextError as exc:
        message = f"{_where(exc.line, exc.column)}: {exc.message}"
        raise ValidationFailed(
            f"The rule is not valid: {message}", errors=[FieldProblem(message, "rule")]
        ) from None
    return validate(built)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "(" + ", ".join(_value_text(v) for v in value) + ")"
    return json.dumps(value, ensure_ascii=False)


def _condition_text(node: Mapping[str, Any]) -> str:
    attr, op = node["attr"], node["op"]
    kind = attribute_type(attr)
    attr = _attr_text(attr)
    value = node.get("value")
    if op == "empty":
        return f"{attr} is empty"
    if op == "not_empty":
        return f"{attr} is not empty"
    if op == "within_last_days":
        return f"{attr} within last {value} days"
    if kind == DATE and op in ("eq", "ne", "before", "after"):
        written = str(value)  # ISO dates are written bare
    else:
        written = _value_text(value)
    symbol = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}.get(op)
    if symbol:
        return f"{attr} {symbol} {written}"
    return f"{attr} {OP_TEXT[op]} {written}"


def to_text(rule: Mapping[str, Any]) -> str:
    """The text syntax of a canonical rule: `parse(to_text(rule)) == rule`."""

    def write(node: Mapping[str, Any], parent: str | None) -> str:
        if "all" in node or "any" in node:
            key = "all" if "all" in node else "any"
            children = node[key]
            if not children:
                return "everyone" if key == "all" else "nobody"
            text = f" {'and' if key == 'all' else 'or'} ".join(write(c, key) for c in children)
            # "and" binds tighter than "or": only an "or" inside an "and" (or under "not")
            # needs parentheses, but we add them for any group inside another for clarity.
            return f"({text})" if parent is not None else text
        if "not" in node:
            inner = write(node["not"], "not")
            if not inner.startswith("("):
                inner = f"({inner})"
            return f"not {inner}"
        return _condition_text(node)

    return write(rule, None)


def describe_condition(node: Mapping[str, Any]) -> str:
    """A condition in the text syntax, for explanations."""
    return _condition_text(node)


# --- The reference evaluator ---------------------------------------------------------------------

# The facts a rule is evaluated against (see compile.facts_of for how they are loaded):
#   every string attribute -> str; "hire_date" -> date | None; "is_active" -> bool;
#   "manager" -> the direct manager's employee id or None; "managers_above" -> the employee ids
#   of everyone above (direct manager first); "roles" -> effective roles; "custom" -> dict.


def custom_text(raw: Any) -> str | None:
    """The text of a custom value, as the database sees it (None: missing or not a scalar)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float) and math.isfinite(raw):
        return repr(raw)
    return None


def custom_number(raw: Any) -> float | None:
    """The number a custom value holds: a JSON number, or text like "3" or "-2.5"."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw) if math.isfinite(raw) else None
    if isinstance(raw, str) and NUMERIC_TEXT_RE.match(raw):
        return float(raw)
    return None


def _fold(text: str) -> str:
    return text.lower()


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    if op == "gt":
        return bool(left > right)
    return bool(left >= right)


def _leaf_matches(node: Mapping[str, Any], facts: Mapping[str, Any], today: dt.date) -> bool:
    attr, op = node["attr"], node["op"]
    value: Any = node.get("value")
    kind = attribute_type(attr)
    if op == "ne":
        return not _leaf_matches({**node, "op": "eq"}, facts, today)
    if op == "not_in":
        return not _leaf_matches({**node, "op": "in"}, facts, today)
    if op == "not_empty":
        return not _leaf_matches({**node, "op": "empty"}, facts, today)
    if kind == STRING:
        text: str = facts.get(attr) or ""
        if op == "eq":
            return text == value
        if op == "in":
            return text in value
        if op == "contains":
            return _fold(value) in _fold(text)
        if op == "starts_with":
            return _fold(text).startswith(_fold(value))
        return text == ""  # empty
    if kind == DATE:
        day: dt.date | None = facts.get(attr)
        if op == "empty":
            return day is None
        if day is None:
            return False
        if op == "within_last_days":
            return today - dt.timedelta(days=value) <= day <= today
        target = dt.date.fromisoformat(value)
        return {"eq": day == target, "before": day < target, "after": day > target}[op]
    if kind == NUMBER:  # tenure_days
        hired: dt.date | None = facts.get("hire_date")
        if op == "empty":
            return hired is None
        if hired is None:
            return False
        tenure = (today - hired).days
        if op == "eq":
            return tenure == value
        if op == "in":
            return tenure in value
        return _compare(op, tenure, value)
    if kind == BOOL:
        return bool(facts.get(attr)) == value
    if kind == PERSON:
        manager: str | None = facts.get("manager")
        if op == "empty":
            return manager is None
        if op == "eq":
            return manager is not None and manager == value
        return manager is not None and manager in value
    if kind == PERSON_ANY:
        above: Collection[str] = facts.get("managers_above") or ()
        if op == "eq":
            return value in above
        return any(v in above for v in value)
    if kind == ROLE_SET:
        roles: Collection[str] = facts.get("roles") or ()
        if op == "eq":
            return value in roles
        return any(v in roles for v in value)
    # custom
    raw = (facts.get("custom") or {}).get(custom_key(attr))
    if op == "empty":
        as_text = custom_text(raw)
        return as_text is None or as_text == ""
    numeric = op in NUMERIC_OPS or (
        op in ("eq", "in") and not isinstance(value if op == "eq" else value[0], str)
    )
    if numeric:
        number = custom_number(raw)
        if number is None:
            return False
        if op == "eq":
            return number == float(value)
        if op == "in":
            return number in [float(v) for v in value]
        return _compare(op, number, float(value))
    as_text = custom_text(raw)
    if as_text is None:
        return False
    if op == "eq":
        return as_text == value
    if op == "in":
        return as_text in value
    if op == "contains":
        return _fold(value) in _fold(as_text)
    return _fold(as_text).startswith(_fold(value))  # starts_with


def matches(rule: Mapping[str, Any], attrs: Mapping[str, Any], today: dt.date) -> bool:
    """Whether a person with these facts is in the audience of this (valid) rule on `today`."""
    if "all" in rule:
        return all(matches(child, attrs, today) for child in rule["all"])
    if "any" in rule:
        return any(matches(child, attrs, today) for child in rule["any"])
    if "not" in rule:
        return not matches(rule["not"], attrs, today)
    return _leaf_matches(rule, attrs, today)


@dataclass(frozen=True)
class Explained:
    """One node of a rule evaluated for one person: what it says and whether it held."""

    kind: str  # "all" | "any" | "not" | "condition"
    text: str
    result: bool
    children: tuple[Explained, ...] = ()


def explain(rule: Mapping[str, Any], attrs: Mapping[str, Any], today: dt.date) -> Explained:
    """The rule as a tree with the result of every node for this person."""
    if "all" in rule or "any" in rule:
        key = "all" if "all" in rule else "any"
        children = tuple(explain(c, attrs, today) for c in rule[key])
        result = (
            all(c.result for c in children) if key == "all" else any(c.result for c in children)
        )
        label = "all of" if key == "all" else "any of"
        if not children:
            label = "everyone" if key == "all" else "nobody"
        return Explained(key, label, result, children)
    if "not" in rule:
        child = explain(rule["not"], attrs, today)
        return Explained("not", "not", not child.result, (child,))
    return Explained("condition", _condition_text(rule), _leaf_matches(rule, attrs, today))
