"""Reading people: search, filters, hierarchy; always inside one tenant."""

from __future__ import annotations

import pytest

from tests.factories import PersonFactory
from uptake.core.errors import NotFound, ValidationFailed
from uptake.people import selectors

pytestmark = pytest.mark.django_db


def test_search_matches_every_word_across_name_email_id_and_title(tenant, other_tenant):
    ada = PersonFactory(tenant=tenant, first_name="Ada", last_name="Lovelace", job_title="Analyst")
    PersonFactory(tenant=tenant, first_name="Alan", last_name="Turing", job_title="Analyst")
    PersonFactory(tenant=other_tenant, first_name="Ada", last_name="Lovelace")
    found = selectors.search_people(tenant_id=tenant.pk, q="ada analyst")
    assert list(found) == [ada]
    assert list(selectors.search_people(tenant_id=tenant.pk, q=ada.employee_id)) == [ada]


def test_filters_combine_and_blank_ones_are_ignored(tenant):
    paris = PersonFactory(
        tenant=tenant, department="Sales", location="Paris", custom={"shift": "night"}
    )
    PersonFactory(tenant=tenant, department="Sales", location="London")
    PersonFactory(tenant=tenant, department="Ops", location="Paris", is_active=False)
    found = selectors.search_people(
        tenant_id=tenant.pk, filters={"department": "Sales", "location": "Paris", "country": ""}
    )
    assert list(found) == [paris]
    assert list(
        selectors.search_people(tenant_id=tenant.pk, filters={"custom.shift": "night"})
    ) == [paris]
    assert selectors.search_people(tenant_id=tenant.pk, filters={"is_active": "false"}).count() == 1


def test_an_unknown_filter_is_refused(tenant):
    with pytest.raises(ValidationFailed):
        selectors.search_people(tenant_id=tenant.pk, filters={"salary": "1"})
    with pytest.raises(ValidationFailed):
        selectors.search_people(tenant_id=tenant.pk, filters={"custom.a__contains": "1"})


def test_search_fetches_managers_without_extra_queries(tenant, django_assert_num_queries):
    boss = PersonFactory(tenant=tenant)
    PersonFactory.create_batch(5, tenant=tenant, manager=boss)
    with django_assert_num_queries(1):
        names = [
            p.manager.full_name for p in selectors.search_people(tenant_id=tenant.pk) if p.manager
        ]
    assert len(names) == 5


def test_get_person_of_another_tenant_is_not_found(tenant, other_tenant):
    stranger = PersonFactory(tenant=other_tenant)
    with pytest.raises(NotFound):
        selectors.get_person(tenant_id=tenant.pk, person_id=stranger.pk)


def test_team_members_walks_the_hierarchy_one_query_per_level(tenant, django_assert_num_queries):
    boss = PersonFactory(tenant=tenant, last_name="Boss")
    a = PersonFactory(tenant=tenant, manager=boss, last_name="A")
    b = PersonFactory(tenant=tenant, manager=boss, last_name="B")
    a1 = PersonFactory(tenant=tenant, manager=a, last_name="A1")
    PersonFactory(tenant=tenant, manager=a, last_name="Gone", is_active=False)
    with django_assert_num_queries(3):  # two levels + the empty third
        everyone = selectors.team_members(manager=boss)
    assert everyone == [a, b, a1]
    assert selectors.team_members(manager=boss, include_indirect=False) == [a, b]
    assert list(selectors.direct_reports(manager=a)) == [a1]
    assert selectors.is_in_team(manager=boss, person=a1) is True
    assert selectors.is_in_team(manager=a, person=b) is False
    with django_assert_num_queries(3):
        assert selectors.team_member_ids(manager=boss) == {a.pk, b.pk, a1.pk}
    assert selectors.team_member_ids(manager=boss, include_indirect=False) == {a.pk, b.pk}


def test_team_member_ids_stop_at_a_cycle_and_skip_the_manager(tenant):
    boss = PersonFactory(tenant=tenant, last_name="Boss")
    a = PersonFactory(tenant=tenant, manager=boss, last_name="A")
    boss.manager = a  # bad HR data: a cycle
    boss.save(update_fields=["manager"])
    assert selectors.team_member_ids(manager=boss) == {a.pk}
    assert [p.pk for p in selectors.team_members(manager=boss)] == [a.pk]


def test_distinct_values_feed_the_filter_dropdowns(tenant, other_tenant):
    PersonFactory(tenant=tenant, department="Sales")
    PersonFactory(tenant=tenant, department="Ops")
    PersonFactory(tenant=tenant, department="")
    PersonFactory(tenant=other_tenant, department="Secret")
    assert selectors.distinct_values(tenant_id=tenant.pk, attribute="department") == [
        "Ops",
        "Sales",
    ]
    assert selectors.filter_options(tenant_id=tenant.pk)["department"] == ["Ops", "Sales"]
