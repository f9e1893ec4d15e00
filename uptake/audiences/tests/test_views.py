"""The audience screens: list, builder with live preview kept in sync, members, explain."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PersonFactory
from uptake.audiences import services
from uptake.audiences.models import Audience
from uptake.core.actor import Actor

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin.user)
    return client


def test_the_list_shows_member_counts_of_this_tenant_only(signed_in, tenant, other_tenant):
    PersonFactory.create_batch(2, tenant=tenant, department="Sales")
    services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Sales team", rule_text='department = "Sales"'
    )
    services.create_audience(
        actor=ACTOR, tenant_id=other_tenant.pk, name="Elsewhere", rule_text="everyone"
    )
    response = signed_in.get(reverse("audiences:list"))
    html = response.content.decode()
    assert "Sales team" in html and "Elsewhere" not in html
    assert [a.member_count for a in response.context["audiences"]] == [2]


def test_learners_cannot_see_audiences(client, tenant):
    learner = PersonFactory(tenant=tenant)
    client.force_login(learner.user)
    assert client.get(reverse("audiences:list")).status_code == 403


def test_typing_a_rule_previews_it_and_redraws_the_rows(signed_in, tenant):
    PersonFactory.create_batch(3, tenant=tenant, department="Sales", first_name="Sal")
    response = signed_in.post(
        reverse("audiences:preview"),
        {"rule_text": 'department = "Sales" and tenure_days >= 0', "source": "text"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "3 people match" in html
    assert 'id="rule-rows" hx-swap-oob="true"' in html
    assert '<option value="tenure_days" selected>' in html
    assert 'id="rule-text"' not in html  # never redraw the box being typed in


def test_changing_a_row_rewrites_the_text(signed_in, tenant):
    response = signed_in.post(
        reverse("audiences:preview"),
        {
            "source": "rows",
            "match": "any",
            "attr": ["department", "location"],
            "op": ["eq", "in"],
            "value": ["Sales", "London, Paris"],
        },
    )
    html = response.content.decode()
    assert (
        "department = &quot;Sales&quot; or location in (&quot;London&quot;, &quot;Paris&quot;)</textarea>"
        in html
    )


def test_a_bad_rule_shows_where_under_the_field(signed_in, tenant):
    response = signed_in.post(
        reverse("audiences:preview"), {"rule_text": "(department = 1", "source": "text"}
    )
    html = response.content.decode()
    assert "line 1, column 1: unbalanced parentheses: this &#x27;(&#x27; is never closed" in html
    assert "Fix the rule to see who it selects." in html


def test_an_edit_previews_who_will_join_and_leave(signed_in, tenant):
    PersonFactory.create_batch(2, tenant=tenant, department="Sales", location="Paris")
    PersonFactory(tenant=tenant, department="Ops", location="London")
    audience = services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Sales", rule_text='department = "Sales"'
    )
    response = signed_in.post(
        reverse("audiences:preview"),
        {"rule_text": 'location = "London"', "source": "text", "audience_id": audience.pk},
    )
    assert "2 will join, 2 will leave" in response.content.decode()  # the admin is in London


def test_saving_creates_the_audience_and_shows_its_members(signed_in, tenant):
    PersonFactory(tenant=tenant, department="Sales", first_name="Sue", last_name="Seller")
    response = signed_in.post(
        reverse("audiences:new"),
        {
            "name": "Sales",
            "rule_text": 'department = "Sales"',
            "action": "save",
            "match": "all",
            "attr": ["department"],
            "op": ["eq"],
            "value": ["Sales"],
        },
        follow=True,
    )
    audience = Audience.objects.get(tenant=tenant, name="Sales")
    assert response.redirect_chain[-1][0] == reverse("audiences:members", args=[audience.pk])
    assert "Sue Seller" in response.content.decode()


def test_saving_a_bad_rule_keeps_the_form_with_the_error(signed_in, tenant):
    response = signed_in.post(
        reverse("audiences:new"), {"name": "X", "rule_text": "departmnt = 1", "action": "save"}
    )
    assert response.status_code == 400
    assert (
        "unknown attribute &#x27;departmnt&#x27; (did you mean &#x27;department&#x27;?)"
        in response.content.decode()
    )
    assert not Audience.objects.filter(name="X").exists()


def test_explain_lists_audiences_with_the_clauses_that_held(signed_in, tenant):
    person = PersonFactory(tenant=tenant, department="Sales", first_name="Sue", last_name="Seller")
    services.create_audience(
        actor=ACTOR, tenant_id=tenant.pk, name="Sales team", rule_text='department = "Sales"'
    )
    response = signed_in.get(reverse("audiences:explain", args=[person.pk]))
    html = response.content.decode()
    assert "Audiences of Sue Seller and why" in html
    assert "<code>department = &quot;Sales&quot;</code>" in html
    assert response.context["explanation"].member_of[0].audience.name == "Sales team"
    detail = signed_in.get(reverse("people:detail", args=[person.pk])).content.decode()
    assert reverse("audiences:explain", args=[person.pk]) in detail
