"""An admin builds "Sales hired in the last 30 days" in a real browser, with its live preview."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import PASSWORD, PersonFactory
from uptake.audiences.models import Audience, AudienceMembership


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_builds_an_audience_with_a_live_preview_and_saves_it(
    page, live_server, tenant, admin
):
    today = timezone.localdate()
    nina = PersonFactory(
        tenant=tenant,
        first_name="Nina",
        last_name="New",
        department="Sales",
        hire_date=today - dt.timedelta(days=10),
    )
    ned = PersonFactory(
        tenant=tenant,
        first_name="Ned",
        last_name="Newer",
        department="Sales",
        hire_date=today - dt.timedelta(days=2),
    )
    PersonFactory(
        tenant=tenant,
        first_name="Olga",
        last_name="Old",
        department="Sales",
        hire_date=today - dt.timedelta(days=100),
    )
    PersonFactory(
        tenant=tenant,
        first_name="Otto",
        last_name="Ops",
        department="Ops",
        hire_date=today - dt.timedelta(days=3),
    )

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", admin.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/audiences/new/")
    page.fill("#name", "Sales hired in the last 30 days")
    page.get_by_role("button", name="Add condition").click()
    page.locator("#value-2").wait_for()
    page.fill("#value-2", "Sales")
    page.get_by_role("button", name="Add condition").click()
    page.locator("#value-3").wait_for()
    page.select_option("#attr-3", "hire_date")
    page.select_option("#op-3", "within_last_days")
    page.fill("#value-3", "30")
    page.locator("#value-3").press("0")  # a keystroke: the preview follows typing (debounced)
    page.locator("#value-3").press("Backspace")

    count = page.locator("#preview .preview-count")
    count.filter(has_text="2 people match").wait_for()
    sample = page.locator("#preview .preview-sample tbody tr td:first-child").all_inner_texts()
    assert sample == [nina.full_name, ned.full_name]
    assert page.locator("#rule-text").input_value() == (
        'is_active = true and department = "Sales" and hire_date within last 30 days'
    )

    page.get_by_role("button", name="Save audience").click()
    page.wait_for_url("**/audiences/*/")
    audience = Audience.objects.get(tenant=tenant, name="Sales hired in the last 30 days")
    assert (
        audience.rule_text
        == 'is_active = true and department = "Sales" and hire_date within last 30 days'
    )
    assert set(
        AudienceMembership.objects.filter(audience=audience).values_list("person_id", flat=True)
    ) == {nina.pk, ned.pk}
    assert "2 members" in page.locator("main").inner_text()
