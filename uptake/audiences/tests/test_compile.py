"""The SQL compilation of rules agrees with the reference evaluator, person for person.

Runs on whichever database the suite runs on (SQLite and PostgreSQL in `make test`).
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import PersonFactory, grant
from uptake.audiences import compile as sql
from uptake.audiences import rules
from uptake.audiences.tests.strategies import TODAY, people, rule_trees
from uptake.people.models import Person

pytestmark = pytest.mark.django_db


def _create(tenant, specs):
    created = []
    for spec in specs:
        manager = created[spec["manager"]] if spec["manager"] is not None else None
        person = PersonFactory(
            tenant=tenant,
            employee_id=spec["employee_id"],
            department=spec["department"],
            job_title=spec["job_title"],
            hire_date=spec["hire_date"],
            is_active=spec["is_active"],
            manager=manager,
            custom=spec["custom"],
        )
        grant(person, *spec["roles"])
        created.append(person)
    return created


def _by_sql(tenant, rule):
    return set(
        sql.members_query(rule, tenant_id=tenant.pk, today=TODAY).values_list("pk", flat=True)
    )


def _by_reference(tenant, rule):
    ids = list(Person.objects.filter(tenant=tenant).values_list("pk", flat=True))
    facts = sql.load_facts(tenant_id=tenant.pk, person_ids=ids)
    return {pk for pk, f in facts.items() if rules.matches(rule, f, TODAY)}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=people(), trees=st.lists(rule_trees(), min_size=4, max_size=12))
def test_sql_membership_equals_the_reference_evaluator(tenant, other_tenant, specs, trees):
    with transaction.atomic():
        _create(tenant, specs)
        # Same employee ids in another tenant: they must never leak into this tenant's result.
        _create(other_tenant, specs[:2])
        checked = {}
        for i, tree in enumerate(trees):
            rule = checked[i] = rules.validate(tree)
            assert _by_sql(tenant, rule) == _by_reference(tenant, rule), rules.to_text(rule)
        # All the rules at once (a recompute's range): each rule a column of one query, for
        # the rules that need no join; and over a range of ids.
        joinless = {
            i: rule
            for i, rule in checked.items()
            if sql.members_by_rule({i: rule}, tenant_id=tenant.pk, today=TODAY) is not None
        }
        together = sql.members_by_rule(joinless, tenant_id=tenant.pk, today=TODAY)
        assert together == {i: _by_sql(tenant, rule) for i, rule in joinless.items()}
        ids = sorted(Person.objects.filter(tenant=tenant).values_list("pk", flat=True))
        if ids:
            first, last = ids[len(ids) // 3], ids[-1]
            ranged = sql.members_by_rule(joinless, tenant_id=tenant.pk, today=TODAY, first=first)
            assert ranged == {
                i: {pk for pk in _by_sql(tenant, rule) if first <= pk <= last}
                for i, rule in joinless.items()
            }
        transaction.set_rollback(True)


def test_reports_to_any_follows_the_whole_chain_below(tenant):
    ceo = PersonFactory(tenant=tenant, employee_id="CEO")
    vp = PersonFactory(tenant=tenant, employee_id="VP", manager=ceo)
    lead = PersonFactory(tenant=tenant, employee_id="LEAD", manager=vp)
    dev = PersonFactory(tenant=tenant, employee_id="DEV", manager=lead)
    PersonFactory(tenant=tenant, employee_id="SOLO")
    rule = rules.parse('reports_to_any "VP"')
    assert _by_sql(tenant, rule) == {lead.pk, dev.pk}
    assert _by_reference(tenant, rule) == {lead.pk, dev.pk}


def test_custom_numbers_compare_numerically_whether_stored_as_text_or_number(tenant):
    text_three = PersonFactory(tenant=tenant, custom={"level": "3"})
    number_ten = PersonFactory(tenant=tenant, custom={"level": 10})
    PersonFactory(tenant=tenant, custom={"level": "L3"})
    PersonFactory(tenant=tenant, custom={})
    rule = rules.parse("custom.level >= 3")
    assert _by_sql(tenant, rule) == {text_three.pk, number_ten.pk}
    assert _by_reference(tenant, rule) == {text_three.pk, number_ten.pk}
