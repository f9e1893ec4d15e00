"""An admin and a manager open their adoption dashboards in a real browser: KPIs, charts and
their tables render with data; the admin drills into a number."""

from __future__ import annotations

import pytest

from tests.factories import grant
from uptake.demo.generator import DEFAULT_PASSWORD, OrgGenerator
from uptake.people import rules as people_rules
from uptake.people.models import Person


def _login(page, live_server, person: Person) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", person.user.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_and_manager_dashboards_render_with_data(page, live_server) -> None:  # type: ignore[no-untyped-def]
    summary = OrgGenerator(tenant_slug="browser", people=80, seed=2).build()
    admin = Person.objects.filter(tenant_id=summary.tenant_id, user__isnull=False).order_by("pk")[0]
    grant(admin, people_rules.PLATFORM_ADMIN)
    manager = (
        Person.objects.filter(
            tenant_id=summary.tenant_id, manager__isnull=False, user__isnull=False
        )
        .exclude(reports=None)
        .order_by("-pk")[0]
    )

    _login(page, live_server, admin)
    page.get_by_role("link", name="Adoption", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Adoption dashboard").is_visible()
    assert page.locator("svg.chart").count() >= 6
    assert page.get_by_role("img", name="Funnel: assigned → started → completed").is_visible()
    # The heatmap's numbers are in its table too.
    heat = page.locator("#h-heatmap").locator("..")
    heat.get_by_text("Show as a table").click()
    assert page.locator("#table-heatmap tbody tr").count() > 5
    card = page.locator(".kpi", has=page.get_by_text("Assignments", exact=True))
    assert int(card.locator(".value").inner_text().replace(",", "")) > 50
    card.get_by_role("link").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Everyone assigned").is_visible()
    assert page.locator("#table-people_assigned tbody tr").count() > 10

    page.context.clear_cookies()
    _login(page, live_server, manager)
    page.get_by_role("link", name="Team adoption").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="My team's adoption").is_visible()
    assert page.locator("#table-team tbody tr").count() >= 1
    assert page.locator("svg.chart").count() >= 3
    # The other charts on demand.
    page.get_by_role("link", name="Show every chart").click()
    assert page.locator("svg.chart").count() >= 6
