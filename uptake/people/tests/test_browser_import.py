"""An admin uploads an HR file with one bad row in a real browser: sees why, nothing changes."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, PersonFactory, grant
from uptake.people import rules
from uptake.people.models import Person


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_sees_the_bad_row_and_nothing_changes(page, live_server, tmp_path, tenant):
    admin = grant(
        PersonFactory(tenant=tenant, first_name="Ada", last_name="Admin"), rules.PLATFORM_ADMIN
    )
    before = sorted(Person.objects.values_list("employee_id", "department"))
    csv_file = tmp_path / "hr.csv"
    csv_file.write_text(
        "employee_id,email,first_name,last_name,department\n"
        "N1,n1@example.com,Nina,New,Sales\n"
        "N2,not-an-email,Ned,Broken,Sales\n",
        encoding="utf-8",
    )

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", admin.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/people/import/")
    page.set_input_files("input[name=file]", str(csv_file))
    page.get_by_role("button", name="Preview changes").click()

    alert = page.locator("section[role=alert]")
    alert.wait_for()
    assert "Nothing was changed" in alert.inner_text()
    row = page.locator("tr.problem")
    assert row.count() == 1
    assert row.locator("td").all_inner_texts() == [
        "3",
        "email",
        "'not-an-email' is not a valid email address",
    ]
    assert page.get_by_role("button", name="Apply import").count() == 0
    assert sorted(Person.objects.values_list("employee_id", "department")) == before
