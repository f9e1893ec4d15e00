"""Rules: the text syntax (round trip, precise errors), validation, the reference evaluator."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.audiences import builder, rules
from uptake.audiences.tests.strategies import TODAY, rule_trees
from uptake.core.errors import ValidationFailed


def _error(text: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        rules.parse(text)
    [problem] = caught.value.errors
    assert problem.field == "rule"
    return problem.message


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ('department = "Sales"', {"attr": "department", "op": "eq", "value": "Sales"}),
        (
            'department = "Sales" and tenure_days <= 30',
            {
                "all": [
                    {"attr": "department", "op": "eq", "value": "Sales"},
                    {"attr": "tenure_days", "op": "le", "value": 30},
                ]
            },
        ),
        (
            'location in ("London", "Paris")',
            {"attr": "location", "op": "in", "value": ["London", "Paris"]},
        ),
        (
            'not (role_family = "Sales")',
            {"not": {"attr": "role_family", "op": "eq", "value": "Sales"}},
        ),
        (
            "hire_date within last 30 days",
            {"attr": "hire_date", "op": "within_last_days", "value": 30},
        ),
        (
            "hire_date before 2024-01-31",
            {"attr": "hire_date", "op": "before", "value": "2024-01-31"},
        ),
        ("custom.level >= 3", {"attr": "custom.level", "op": "ge", "value": 3}),
        ('reports_to_any "E001"', {"attr": "reports_to_any", "op": "eq", "value": "E001"}),
        ("manager is empty", {"attr": "manager", "op": "empty"}),
        ("is_active = TRUE", {"attr": "is_active", "op": "eq", "value": True}),
        (
            'job_title starts with "Senior"',
            {"attr": "job_title", "op": "starts_with", "value": "Senior"},
        ),
        ("everyone", {"all": []}),
        ("nobody", {"any": []}),
    ],
)
def test_the_text_syntax_reads_as_expected(text, rule):
    assert rules.parse(text) == rule


def test_and_binds_tighter_than_or_and_groups_flatten():
    rule = rules.parse(
        'department = "A" or department = "B" and (location = "L" and country = "GB")'
    )
    assert rule == {
        "any": [
            {"attr": "department", "op": "eq", "value": "A"},
            {
                "all": [
                    {"attr": "department", "op": "eq", "value": "B"},
                    {"attr": "location", "op": "eq", "value": "L"},
                    {"attr": "country", "op": "eq", "value": "GB"},
                ]
            },
        ]
    }


@settings(max_examples=300, deadline=None)
@given(tree=rule_trees())
def test_text_round_trips_for_any_valid_rule(tree):
    rule = rules.validate(tree)
    assert rules.parse(rules.to_text(rule)) == rule
    assert rules.validate(rule) == rule  # canonical is a fixed point


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'departmnt = "Sales"',
            "line 1, column 1: unknown attribute 'departmnt' (did you mean 'department'?)",
        ),
        (
            'department = "Sales" and departmnt = "x"',
            "line 1, column 26: unknown attribute 'departmnt' (did you mean 'department'?)",
        ),
        (
            'tenure_days <= "30"',
            "line 1, column 16: wrong type for operator '<=': tenure_days is a number, so the value must be a whole number of days, not \"30\"",
        ),
        (
            'department < "x"',
            "line 1, column 12: wrong type for operator '<': department is text; use one of '=', '!=', 'in', 'not in', 'contains', 'starts with', 'is empty', 'is not empty'",
        ),
        ('(department = "x"', "line 1, column 1: unbalanced parentheses: this '(' is never closed"),
        (
            'department = "x")',
            "line 1, column 17: unbalanced parentheses: this ')' has no matching '('",
        ),
        (
            'department = "x"\n  and (location = "y"))',
            "line 2, column 23: unbalanced parentheses: this ')' has no matching '('",
        ),
        (
            'department = "x" location = "y"',
            "line 1, column 18: unexpected 'location'; expected and, or",
        ),
        (
            'department = "x" and',
            "line 1, column 21: the rule ends too early; expected '(', an attribute, everyone, nobody, not",
        ),
        ("department @ 3", "line 1, column 12: unexpected character '@'"),
        ('department = "x', "line 1, column 14: unclosed quote"),
        (
            'role = "boss"',
            "line 1, column 8: unknown role 'boss'; roles are learner, manager, platform_admin, content_owner, data_steward, business_sponsor",
        ),
        ("", "line 1, column 1: the rule is empty; write a condition or 'everyone'"),
    ],
)
def test_errors_say_where_and_why(text, message):
    assert _error(text) == message


def test_the_text_syntax_never_evaluates_python():
    assert _error('__import__("os").system("true")') == (
        "line 1, column 11: unexpected '('; expected an operator (=, !=, <, in, contains, is empty, ...)"
    )


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (
            {"attr": "departmnt", "op": "eq", "value": "x"},
            "rule: unknown attribute 'departmnt' (did you mean 'department'?)",
        ),
        (
            {"all": [{"attr": "hire_date", "op": "gt", "value": "2024-01-01"}]},
            "rule.all[0]: wrong type for operator '>': hire_date is a date; use one of '=', '!=', 'before', 'after', 'within last N days', 'is empty', 'is not empty'",
        ),
        (
            {"any": [{"attr": "location", "op": "in", "value": []}]},
            'rule.any[0]: \'in\' needs a non-empty list of values, e.g. ("a", "b")',
        ),
        (
            {"not": {"attr": "is_active", "op": "eq", "value": "yes"}},
            "rule.not: wrong type for operator '=': is_active is true or false, so the value must be true or false, not \"yes\"",
        ),
        ({"all": {"attr": "x"}}, "rule: 'all' must be a list of rules"),
        ({"attr": "email", "op": "empty", "value": "x"}, "rule: 'is empty' takes no value"),
        (
            {"attr": "email", "op": "eq", "value": "x", "extra": 1},
            "rule: unexpected key 'extra'; a condition has attr, op and value",
        ),
        ("department = x", "rule: expected an object: {all: [...]}, {any: [...]}, {not: {...}}"),
    ],
)
def test_validation_names_the_node_at_fault(tree, message):
    with pytest.raises(ValidationFailed) as caught:
        rules.validate(tree)
    assert caught.value.errors[0].message == message


def _facts(**kw):
    base = {name: "" for name in rules.STRING_ATTRIBUTES}
    base.update(
        hire_date=None,
        is_active=True,
        manager=None,
        managers_above=frozenset(),
        roles=frozenset({"learner"}),
        custom={},
    )
    base.update(kw)
    return base


def _m(text, **facts):
    return rules.matches(rules.parse(text), _facts(**facts), TODAY)


def test_tenure_counts_days_since_the_hire_date():
    hired = TODAY - dt.timedelta(days=30)
    assert _m("tenure_days <= 30", hire_date=hired)
    assert not _m("tenure_days < 30", hire_date=hired)
    assert not _m("tenure_days <= 30", hire_date=None)
    assert _m("not (tenure_days <= 30)", hire_date=None)
    assert _m("tenure_days is empty", hire_date=None)


def test_within_last_days_includes_today_and_excludes_future_dates():
    assert _m("hire_date within last 30 days", hire_date=TODAY)
    assert _m("hire_date within last 30 days", hire_date=TODAY - dt.timedelta(days=30))
    assert not _m("hire_date within last 30 days", hire_date=TODAY - dt.timedelta(days=31))
    assert not _m("hire_date within last 30 days", hire_date=TODAY + dt.timedelta(days=1))


def test_text_equality_is_exact_but_contains_ignores_case():
    assert _m('department = "Sales"', department="Sales")
    assert not _m('department = "sales"', department="Sales")
    assert _m('job_title contains "MANAGER"', job_title="Sales Manager")
    assert _m('job_title starts with "sales"', job_title="Sales Manager")


def test_reports_to_is_direct_and_reports_to_any_is_anywhere_below():
    facts = {"manager": "LEAD", "managers_above": frozenset({"LEAD", "VP", "CEO"})}
    assert _m('reports_to "LEAD"', **facts)
    assert not _m('reports_to "VP"', **facts)
    assert _m('reports_to_any "VP"', **facts)
    assert _m('reports_to_any in ("X", "CEO")', **facts)
    assert not _m("manager is empty", **facts)


def test_roles_are_the_effective_ones():
    assert _m('role = "manager"', roles=frozenset({"learner", "manager"}))
    assert not _m('role = "platform_admin"', roles=frozenset({"learner"}))
    assert _m('role != "platform_admin"', roles=frozenset({"learner"}))


def test_custom_attributes_compare_as_text_or_as_numbers():
    assert _m('custom.level = "L2"', custom={"level": "L2"})
    assert _m("custom.level >= 3", custom={"level": "3"})
    assert _m("custom.level >= 3", custom={"level": 4.5})
    assert not _m("custom.level >= 3", custom={"level": "L3"})
    assert not _m("custom.level >= 3", custom={})
    assert _m("custom.level is empty", custom={"level": ""})
    assert _m('custom.flag = "true"', custom={"flag": True})
    assert _m("custom.level != 3", custom={})


def test_explain_gives_the_result_of_every_clause():
    rule = rules.parse('department = "Sales" and not (location = "Paris")')
    why = rules.explain(rule, _facts(department="Sales", location="Paris"), TODAY)
    assert (why.kind, why.result) == ("all", False)
    assert [(c.kind, c.text, c.result) for c in why.children] == [
        ("condition", 'department = "Sales"', True),
        ("not", "not", False),
    ]
    assert why.children[1].children[0].result is True


def test_builder_rows_convert_to_rules_and_back():
    rows = [
        builder.Row("department", "eq", "Sales"),
        builder.Row("hire_date", "within_last_days", "30"),
        builder.Row("location", "in", "London, Paris"),
    ]
    rule = builder.rule_from_rows("all", rows)
    assert (
        rules.to_text(rule)
        == 'department = "Sales" and hire_date within last 30 days and location in ("London", "Paris")'
    )
    assert builder.rows_from_rule(rule) == ("all", rows)
    assert builder.rows_from_rule(rules.parse('not (department = "x")')) is None
    with pytest.raises(ValidationFailed) as caught:
        builder.rule_from_rows(
            "all", [builder.Row("department", "eq", "x"), builder.Row("tenure_days", "le", "abc")]
        )
    assert caught.value.errors[0].message.startswith(
        "condition 2: wrong type for operator '<=': tenure_days is a number"
    )


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_text_either_parses_or_fails_with_a_position(text):
    try:
        rules.validate(rules.parse(text))
    except ValidationFailed as exc:
        assert exc.errors[0].message.startswith("line ")
