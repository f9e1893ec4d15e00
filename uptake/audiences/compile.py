"""Rules in SQL, and the facts the reference evaluator needs, both over Person (tenant-scoped).

`compile_rule` turns a valid rule into a Q over Person so that membership of a whole tenant is
one query; it must agree with `rules.matches` on every person (property-tested on SQLite and
PostgreSQL). Every condition compiles to a two-valued predicate (never SQL NULL), so `not`
means exactly "the condition does not hold", as in the reference evaluator.

`load_facts` reads what `rules.matches` needs for some people, in a few queries.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower, StrIndex
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)

from uptake.audiences import rules
from uptake.core import bulk
from uptake.people.models import Person, PersonRole
from uptake.people.rules import effective_roles

T = TypeVar("T")
IN_CHUNK = 5000  # SQLite accepts at most 32,766 parameters per statement

_TRUE = Q(pk__isnull=False)
_FALSE = Q(pk__in=[])


def chunks(items: list[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- Custom attributes: the same text and number on SQLite and PostgreSQL -------------------------


class CustomText(Func):
    """The text of custom[key] as rules.custom_text defines it; NULL when missing or not a
    string, number or boolean."""

    output_field = TextField()

    def __init__(self, key: str) -> None:
        super().__init__(F("custom"))
        self.key = key

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        col, params = compiler.compile(self.source_expressions[0])
        path = '$."' + self.key + '"'
        sql = (
            f"(CASE json_type({col}, %s) WHEN 'text' THEN json_extract({col}, %s) "
            f"WHEN 'integer' THEN CAST(json_extract({col}, %s) AS TEXT) "
            f"WHEN 'real' THEN CAST(json_extract({col}, %s) AS TEXT) "
            "WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE NULL END)"
        )
        return sql, [*params, path, *params, path, *params, path, *params, path]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        col, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(CASE WHEN jsonb_typeof({col} -> %s) IN ('string', 'number', 'boolean') "
            f"THEN ({col} ->> %s) ELSE NULL END)"
        )
        return sql, [*params, self.key, *params, self.key]


class CustomNumber(Func):
    """The number custom[key] holds (rules.custom_number): a JSON number, or text that looks
    like one; NULL otherwise. The CASE guards the cast, so bad text never raises."""

    output_field = FloatField()

    def __init__(self, key: str) -> None:
        super().__init__(F("custom"))
        self.key = key

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        col, params = compiler.compile(self.source_expressions[0])
        path = '$."' + self.key + '"'
        sql = (
            f"(CASE json_type({col}, %s) "
            f"WHEN 'integer' THEN CAST(json_extract({col}, %s) AS REAL) "
            f"WHEN 'real' THEN json_extract({col}, %s) "
            f"WHEN 'text' THEN (CASE WHEN json_extract({col}, %s) REGEXP %s "
            f"THEN CAST(json_extract({col}, %s) AS REAL) ELSE NULL END) ELSE NULL END)"
        )
        pattern = rules.NUMERIC_TEXT_RE.pattern
        return sql, [
            *params,
            path,
            *params,
            path,
            *params,
            path,
            *params,
            path,
            pattern,
            *params,
            path,
        ]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        col, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"(CASE jsonb_typeof({col} -> %s) "
            f"WHEN 'number' THEN ({col} ->> %s)::double precision "
            f"WHEN 'string' THEN (CASE WHEN ({col} ->> %s) ~ %s "
            f"THEN ({col} ->> %s)::double precision ELSE NULL END) ELSE NULL END)"
        )
        pattern = rules.NUMERIC_TEXT_RE.pattern
        return sql, [
            *params,
            self.key,
            *params,
            self.key,
            *params,
            self.key,
            pattern,
            *params,
            self.key,
        ]


def _guarded(expr: Any, lookup: Any) -> Q:
    """`lookup` on a possibly NULL expression, made two-valued: false when expr is NULL."""
    return Q(IsNull(expr, False)) & Q(lookup)


def _contains(expr: Any, value: str, *, prefix: bool) -> Any:
    position = StrIndex(Lower(expr), Lower(Value(value, output_field=TextField())))
    return Exact(position, 1) if prefix else GreaterThan(position, 0)


_NUMERIC = {"lt": LessThan, "le": LessThanOrEqual, "gt": GreaterThan, "ge": GreaterThanOrEqual}


# --- Compilation ----------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, *, tenant_id: int, today: dt.date, rule: Mapping[str, Any]) -> None:
        self.tenant_id = tenant_id
        self.today = today
        # Employee ids named by manager / reports_to conditions -> person ids, in one query.
        named: set[str] = set()
        for leaf in rules.conditions(rule):
            if rules.attribute_type(leaf["attr"]) == rules.PERSON and "value" in leaf:
                value = leaf["value"]
                named.update(value if isinstance(value, list) else [value])
        self.ids: dict[str, int] = {}
        for part in chunks(sorted(named)):
            self.ids.update(
                Person.objects.filter(tenant_id=tenant_id, employee_id__in=part)
                .order_by()
                .values_list("employee_id", "pk")
            )

    def node(self, rule: Mapping[str, Any]) -> Q:
        if "all" in rule:
            q = _TRUE
            for child in rule["all"]:
                q &= self.node(child)
            return q
        if "any" in rule:
            q = _FALSE
            for child in rule["any"]:
                q |= self.node(child)
            return q
        if "not" in rule:
            return ~self.node(rule["not"])
        return self.leaf(rule)

    def leaf(self, leaf: Mapping[str, Any]) -> Q:
        op = leaf["op"]
        if op in ("ne", "not_in", "not_empty"):
            positive = {"ne": "eq", "not_in": "in", "not_empty": "empty"}[op]
            return ~self.leaf({**leaf, "op": positive})
        attr = leaf["attr"]
        value: Any = leaf.get("value")
        kind = rules.attribute_type(attr)
        if kind == rules.STRING:
            return self._string(attr, op, value)
        if kind == rules.DATE:
            return self._date(op, value)
        if kind == rules.NUMBER:
            return self._tenure(op, value)
        if kind == rules.BOOL:
            return Q(**{attr: value})
        if kind == rules.PERSON:
            if op == "empty":
                return Q(manager__isnull=True)
            names = [value] if op == "eq" else value
            ids = [self.ids[n] for n in names if n in self.ids]
            return Q(manager_id__in=ids) if ids else _FALSE
        if kind == rules.PERSON_ANY:
            names = [value] if op == "eq" else value
            return Q(pk__in=self._below(names))
        if kind == rules.ROLE_SET:
            names = [value] if op == "eq" else value
            q = _FALSE
            for role in names:
                q |= self._role(role)
            return q
        return self._custom(rules.custom_key(attr), op, value)

    @staticmethod
    def _string(attr: str, op: str, value: Any) -> Q:
        if op == "eq":
            return Q(**{attr: value})
        if op == "in":
            return Q(**{f"{attr}__in": value})
        if op == "empty":
            return Q(**{attr: ""})
        return Q(_contains(F(attr), value, prefix=op == "starts_with"))

    def _date(self, op: str, value: Any) -> Q:
        if op == "empty":
            return Q(hire_date__isnull=True)
        if op == "within_last_days":
            start = self.today - dt.timedelta(days=value)
            return Q(hire_date__gte=start, hire_date__lte=self.today)
        day = dt.date.fromisoformat(value)
        lookup = {"eq": "exact", "before": "lt", "after": "gt"}[op]
        return Q(hire_date__isnull=False, **{f"hire_date__{lookup}": day})

    def _tenure(self, op: str, value: Any) -> Q:
        # tenure = today - hire_date, so "tenure <= n" is "hire_date >= today - n", etc.
        if op == "empty":
            return Q(hire_date__isnull=True)
        if op == "in":
            days = [self.today - dt.timedelta(days=v) for v in value]
            return Q(hire_date__isnull=False, hire_date__in=days)
        day = self.today - dt.timedelta(days=value)
        lookup = {"eq": "exact", "lt": "gt", "le": "gte", "gt": "lt", "ge": "lte"}[op]
        return Q(hire_date__isnull=False, **{f"hire_date__{lookup}": day})

    def _below(self, employee_ids: list[str]) -> RawSQL:
        """Everyone anywhere below the named people (a recursive CTE; UNION stops cycles)."""
        table = connection.ops.quote_name(Person._meta.db_table)
        marks = ", ".join(["%s"] * len(employee_ids))
        sql = (
            f"WITH RECURSIVE below(id) AS ("  # noqa: S608 - identifiers from model metadata
            f"SELECT p.id FROM {table} p JOIN {table} m ON p.manager_id = m.id "
            f"WHERE m.tenant_id = %s AND m.employee_id IN ({marks}) "
            f"UNION SELECT p.id FROM {table} p JOIN below b ON p.manager_id = b.id"
            f") SELECT id FROM below"
        )
        return RawSQL(sql, [self.tenant_id, *employee_ids])  # noqa: S611 - values are parameters

    def _role(self, role: str) -> Q:
        if role == "learner":
            return _TRUE
        if role == "manager":
            reports = Person.objects.filter(
                tenant_id=self.tenant_id, manager_id=OuterRef("pk"), is_active=True
            )
            return Q(Exists(reports))
        grants = PersonRole.objects.filter(
            tenant_id=self.tenant_id, person_id=OuterRef("pk"), role=role
        )
        return Q(Exists(grants))

    @staticmethod
    def _custom(key: str, op: str, value: Any) -> Q:
        if op == "empty":
            text = CustomText(key)
            return Q(IsNull(text, True)) | _guarded(text, Exact(text, ""))
        first = value[0] if op == "in" else value
        if op in _NUMERIC or (op in ("eq", "in") and not isinstance(first, str)):
            number = CustomNumber(key)
            if op == "eq":
                return _guarded(number, Exact(number, float(value)))
            if op == "in":
                return _guarded(number, In(number, [float(v) for v in value]))
            return _guarded(number, _NUMERIC[op](number, float(value)))
        text = CustomText(key)
        if op == "eq":
            return _guarded(text, Exact(text, value))
        if op == "in":
            return _guarded(text, In(text, list(value)))
        return _guarded(text, _contains(text, value, prefix=op == "starts_with"))


def compile_rule(rule: Mapping[str, Any], *, tenant_id: int, today: dt.date) -> Q:
    """A Q over Person selecting exactly the people `rules.matches` accepts on `today`.

    The caller still filters on the tenant (`Person.objects.filter(tenant_id=...)`): the Q
    only scopes its own subqueries. Named employee ids are resolved now (one query).
    """
    return _Compiler(tenant_id=tenant_id, today=today, rule=rule).node(rule)


def members_query(rule: Mapping[str, Any], *, tenant_id: int, today: dt.date) -> Any:
    """The tenant's people matching the rule (a QuerySet[Person])."""
    q = compile_rule(rule, tenant_id=tenant_id, today=today)
    return Person.objects.filter(tenant_id=tenant_id).filter(q)


_RULES_PER_MASK = 60  # rules per bit-mask column (a 64-bit integer)


def members_by_rule(
    rules_by_key: Mapping[int, Mapping[str, Any]],
    *,
    tenant_id: int,
    today: dt.date,
    first: int | None = None,
    last: int | None = None,
) -> dict[int, set[int]] | None:
    """For each rule (by key), the ids of the tenant's people it selects (only ids from `first`
    to `last` when given), in one pass over the people, where one query per rule read the same
    rows again (50 audiences: 50 scans and round trips). Each person comes back with a bit
    mask of the rules they match (bit k: rule k), which groups them by a few distinct values.
    None when a rule needs a join (the rules would share it): ask `members_query` per rule."""
    keys = list(rules_by_key)
    if not keys:
        return {}
    qs = Person.objects.filter(tenant_id=tenant_id).order_by()
    if first is not None:
        qs = qs.filter(pk__gte=first)
    if last is not None:
        qs = qs.filter(pk__lte=last)
    masks: dict[str, Any] = {}
    for start in range(0, len(keys), _RULES_PER_MASK):
        bits = [
            Case(
                When(
                    compile_rule(rules_by_key[key], tenant_id=tenant_id, today=today),
                    then=Value(1 << bit),
                ),
                default=Value(0),
                output_field=BigIntegerField(),
            )
            for bit, key in enumerate(keys[start : start + _RULES_PER_MASK])
        ]
        masks[f"rules_{start}"] = functools.reduce(operator.add, bits)
    qs = qs.annotate(**masks)
    if sum(1 for count in qs.query.alias_refcount.values() if count) > 1:  # a join in use
        return None
    out: dict[int, set[int]] = {key: set() for key in keys}
    for index, name in enumerate(masks):
        group = keys[index * _RULES_PER_MASK : (index + 1) * _RULES_PER_MASK]
        by_mask: dict[int, list[int]] = {}
        for pk, mask in qs.values_list("pk", name):
            if mask:
                by_mask.setdefault(mask, []).append(pk)
        for mask, pks in by_mask.items():
            for bit, key in enumerate(group):
                if mask >> bit & 1:
                    out[key].update(pks)
    return out


# --- Facts for the reference evaluator ------------------------------------------------------------

_FIELDS = (*rules.STRING_ATTRIBUTES, "hire_date", "is_active", "custom", "manager_id")


def needs(used: Iterable[str]) -> dict[str, bool]:
    """Which expensive facts rules with these attributes need."""
    names = set(used)
    return {
        "manager": bool(names & {"manager", "reports_to"}),
        "above": "reports_to_any" in names,
        "roles": "role" in names,
    }


def load_facts(
    *,
    tenant_id: int,
    person_ids: Collection[int],
    used: Iterable[str] | None = None,
) -> dict[int, dict[str, Any]]:
    """person id -> the facts `rules.matches` reads, for the given people of the tenant.

    With `used` (attribute names), only the facts those attributes need are loaded; people of
    other tenants or unknown ids are absent from the result.
    """
    want = needs(used) if used is not None else {"manager": True, "above": True, "roles": True}
    # Statements built once (bulk.rows_where): the live path of one HR change reads here.
    facts: dict[int, dict[str, Any]] = {
        row[0]: dict(zip(_FIELDS, row[1:], strict=True))
        for row in bulk.rows_where(
            Person, {"tenant_id": tenant_id}, "pk", person_ids, "pk", *_FIELDS, scan=False
        )
    }
    if not facts:
        return facts
    if want["manager"] or want["above"]:
        # Walk up level by level: id -> (manager_id, employee_id) for everyone above.
        chain: dict[int, tuple[int | None, str]] = {}
        frontier = {f["manager_id"] for f in facts.values() if f["manager_id"]}
        while frontier:
            found = bulk.rows_where(
                Person,
                {"tenant_id": tenant_id},
                "pk",
                frontier,
                "pk",
                "manager_id",
                "employee_id",
                scan=False,
            )
            for pk, manager_id, employee_id in found:
                chain[pk] = (manager_id, employee_id)
            frontier = {m for _, m, _ in found if m and m not in chain}
        for f in facts.values():
            manager_id = f["manager_id"]
            f["manager"] = chain[manager_id][1] if manager_id in chain else None
            if want["above"]:
                above: list[str] = []
                seen: set[int] = set()
                current = manager_id
                while current is not None and current in chain and current not in seen:
                    seen.add(current)
                    up, employee_id = chain[current]
                    above.append(employee_id)
                    current = up
                f["managers_above"] = frozenset(above)
    if want["roles"]:
        granted: dict[int, list[str]] = {}
        has_reports: set[int] = set()
        roles = bulk.rows_where(
            PersonRole, {"tenant_id": tenant_id}, "person_id", facts, "person_id", "role"
        )
        for person_id, role in roles:
            granted.setdefault(person_id, []).append(role)
        has_reports.update(
            manager_id
            for (manager_id,) in bulk.rows_where(
                Person,
                {"tenant_id": tenant_id, "is_active": True},
                "manager_id",
                facts,
                "manager_id",
                scan=False,
            )
        )
        for pk, f in facts.items():
            f["roles"] = effective_roles(granted=granted.get(pk, []), has_reports=pk in has_reports)
    return facts


def descendants(*, tenant_id: int, person_ids: Collection[int]) -> set[int]:
    """Everyone below the given people (not the people themselves), one query per 5,000."""
    out: set[int] = set()
    table = connection.ops.quote_name(Person._meta.db_table)
    for part in chunks(sorted(set(person_ids))):
        marks = ", ".join(["%s"] * len(part))
        sql = (
            f"WITH RECURSIVE below(id) AS ("  # noqa: S608 - identifiers from model metadata
            f"SELECT id FROM {table} WHERE tenant_id = %s AND manager_id IN ({marks}) "
            f"UNION SELECT p.id FROM {table} p JOIN below b ON p.manager_id = b.id"
            f") SELECT id FROM below"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [tenant_id, *part])
            out.update(row[0] for row in cursor.fetchall())
    return out - set(person_ids)
