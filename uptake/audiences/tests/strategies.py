"""Hypothesis strategies: random valid rules and random people, over small value pools so that
conditions often hold (a rule that matches nobody proves little)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from uptake.audiences import rules

TODAY = dt.date(2025, 6, 15)
WORDS = ["Sales", "sales", "Ops", "Marketing", "Sal", "", "Sales Ops", "O'Neil", "x"]
EMPLOYEE_IDS = ["P0", "P1", "P2", "P3", "P4", "P5", "NOBODY"]
CUSTOM_KEYS = ["level", "cost centre", "flag"]
CUSTOM_VALUES = st.sampled_from(
    ["L1", "L2", "3", "-2.5", "10", "abc", "", "true", "3.0", 3, 10, -1, 0, 2.5, 100.0, True, False]
)
DATES = st.dates(min_value=TODAY - dt.timedelta(days=120), max_value=TODAY + dt.timedelta(days=5))


def _string_leaf(attr: str) -> st.SearchStrategy[dict[str, Any]]:
    word = st.sampled_from(WORDS)
    nonempty = st.sampled_from([w for w in WORDS if w])
    return st.one_of(
        st.builds(lambda v: {"attr": attr, "op": "eq", "value": v}, word),
        st.builds(lambda v: {"attr": attr, "op": "ne", "value": v}, word),
        st.builds(
            lambda v: {"attr": attr, "op": "in", "value": v}, st.lists(word, min_size=1, max_size=3)
        ),
        st.builds(
            lambda v: {"attr": attr, "op": "not_in", "value": v},
            st.lists(word, min_size=1, max_size=3),
        ),
        st.builds(lambda v: {"attr": attr, "op": "contains", "value": v}, nonempty),
        st.builds(lambda v: {"attr": attr, "op": "starts_with", "value": v}, nonempty),
        st.sampled_from([{"attr": attr, "op": "empty"}, {"attr": attr, "op": "not_empty"}]),
    )


def _date_leaf() -> st.SearchStrategy[dict[str, Any]]:
    iso = DATES.map(lambda d: d.isoformat())
    return st.one_of(
        st.builds(
            lambda op, v: {"attr": "hire_date", "op": op, "value": v},
            st.sampled_from(["eq", "ne", "before", "after"]),
            iso,
        ),
        st.builds(
            lambda v: {"attr": "hire_date", "op": "within_last_days", "value": v},
            st.integers(0, 60),
        ),
        st.sampled_from(
            [{"attr": "hire_date", "op": "empty"}, {"attr": "hire_date", "op": "not_empty"}]
        ),
    )


def _tenure_leaf() -> st.SearchStrategy[dict[str, Any]]:
    days = st.integers(-5, 130)
    return st.one_of(
        st.builds(
            lambda op, v: {"attr": "tenure_days", "op": op, "value": v},
            st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]),
            days,
        ),
        st.builds(
            lambda op, v: {"attr": "tenure_days", "op": op, "value": v},
            st.sampled_from(["in", "not_in"]),
            st.lists(days, min_size=1, max_size=3),
        ),
        st.sampled_from(
            [{"attr": "tenure_days", "op": "empty"}, {"attr": "tenure_days", "op": "not_empty"}]
        ),
    )


def _person_leaf() -> st.SearchStrategy[dict[str, Any]]:
    eid = st.sampled_from(EMPLOYEE_IDS)
    direct = st.sampled_from(["manager", "reports_to"])
    return st.one_of(
        st.builds(
            lambda a, op, v: {"attr": a, "op": op, "value": v},
            direct,
            st.sampled_from(["eq", "ne"]),
            eid,
        ),
        st.builds(
            lambda a, op, v: {"attr": a, "op": op, "value": v},
            direct,
            st.sampled_from(["in", "not_in"]),
            st.lists(eid, min_size=1, max_size=3),
        ),
        st.builds(
            lambda a, op: {"attr": a, "op": op}, direct, st.sampled_from(["empty", "not_empty"])
        ),
        st.builds(
            lambda op, v: {"attr": "reports_to_any", "op": op, "value": v},
            st.sampled_from(["eq", "ne"]),
            eid,
        ),
        st.builds(
            lambda op, v: {"attr": "reports_to_any", "op": op, "value": v},
            st.sampled_from(["in", "not_in"]),
            st.lists(eid, min_size=1, max_size=3),
        ),
    )


def _role_leaf() -> st.SearchStrategy[dict[str, Any]]:
    role = st.sampled_from(rules.ROLES)
    return st.one_of(
        st.builds(
            lambda op, v: {"attr": "role", "op": op, "value": v},
            st.sampled_from(["eq", "ne"]),
            role,
        ),
        st.builds(
            lambda op, v: {"attr": "role", "op": op, "value": v},
            st.sampled_from(["in", "not_in"]),
            st.lists(role, min_size=1, max_size=3),
        ),
    )


def _custom_leaf() -> st.SearchStrategy[dict[str, Any]]:
    attr = st.sampled_from(CUSTOM_KEYS).map(lambda k: f"custom.{k}")
    text = st.sampled_from(["L1", "L2", "3", "abc", "", "true", "1", "3.0", "-2.5"])
    number = st.sampled_from([3, 10, -1, 0, 2.5, 3.0, -2.5])
    return st.one_of(
        st.builds(
            lambda a, op, v: {"attr": a, "op": op, "value": v},
            attr,
            st.sampled_from(["eq", "ne"]),
            st.one_of(text, number),
        ),
        st.builds(
            lambda a, op, v: {"attr": a, "op": op, "value": v},
            attr,
            st.sampled_from(["in", "not_in"]),
            st.one_of(
                st.lists(text, min_size=1, max_size=3), st.lists(number, min_size=1, max_size=3)
            ),
        ),
        st.builds(
            lambda a, op, v: {"attr": a, "op": op, "value": v},
            attr,
            st.sampled_from(["contains", "starts_with"]),
            st.sampled_from(["L", "l", "3", "ab", "tr"]),
        ),
        st.builds(
            lambda a, op, v: {"attr": a, "op": op, "value": v},
            attr,
            st.sampled_from(["lt", "le", "gt", "ge"]),
            number,
        ),
        st.builds(
            lambda a, op: {"attr": a, "op": op}, attr, st.sampled_from(["empty", "not_empty"])
        ),
    )


def leaves() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        _string_leaf("department"),
        _string_leaf("job_title"),
        _date_leaf(),
        _tenure_leaf(),
        st.builds(
            lambda op, v: {"attr": "is_active", "op": op, "value": v},
            st.sampled_from(["eq", "ne"]),
            st.booleans(),
        ),
        _person_leaf(),
        _role_leaf(),
        _custom_leaf(),
    )


def rule_trees() -> st.SearchStrategy[dict[str, Any]]:
    """Valid rule trees (not necessarily canonical: validate() makes them so)."""
    return st.recursive(
        leaves(),
        lambda children: st.one_of(
            st.lists(children, max_size=3).map(lambda c: {"all": c}),
            st.lists(children, max_size=3).map(lambda c: {"any": c}),
            children.map(lambda c: {"not": c}),
        ),
        max_leaves=6,
    )


@st.composite
def people(draw: st.DrawFn, size: int = 12) -> list[dict[str, Any]]:
    """People P0..Pn-1; each one's manager is an earlier person (or nobody): a forest."""
    out = []
    n = draw(st.integers(6, size))
    for i in range(n):
        custom = draw(
            st.dictionaries(st.sampled_from(CUSTOM_KEYS), CUSTOM_VALUES, min_size=1, max_size=3)
        )
        out.append(
            {
                "employee_id": f"P{i}",
                "department": draw(st.sampled_from(WORDS)),
                "job_title": draw(st.sampled_from(WORDS)),
                "hire_date": draw(st.one_of(st.none(), DATES)),
                "is_active": draw(st.booleans()),
                "manager": draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None,
                "custom": custom,
                "roles": draw(
                    st.lists(
                        st.sampled_from(["platform_admin", "data_steward"]), max_size=2, unique=True
                    )
                ),
            }
        )
    return out
