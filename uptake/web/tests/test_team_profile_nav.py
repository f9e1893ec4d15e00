"""My team (managers only), the profile, the navigation, error pages and the admin's title."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.factories import grant
from uptake.web.templatetags.uptake_web import url_if_exists
from uptake.web.tests.builders import enrol, make_course, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(tenant):  # type: ignore[no-untyped-def]
    boss = make_person(tenant, first_name="Maria", last_name="Manager")
    ana = make_person(tenant, first_name="Ana", last_name="Report", manager=boss)
    ben = make_person(tenant, first_name="Ben", last_name="Report", manager=boss)
    cleo = make_person(tenant, first_name="Cleo", last_name="Indirect", manager=ana)
    now = dt.datetime.now(dt.UTC)
    enrol(ana, make_course(tenant, title="Ana later"), due_at=now + dt.timedelta(days=40))
    enrol(ana, make_course(tenant, title="Ana overdue"), due_at=now - dt.timedelta(days=3))
    enrol(cleo, make_course(tenant, title="Cleo course"))
    return {"boss": boss, "ana": ana, "ben": ben, "cleo": cleo}


def test_manager_sees_each_report_with_counts_and_assignments_overdue_first(client, team):
    client.force_login(team["boss"].user)
    html = client.get(reverse("web:team")).content.decode()
    assert "Ana Report" in html and "Ben Report" in html
    assert "Cleo Indirect" not in html
    assert html.index("Ana overdue") < html.index("Ana later")
    assert '<span class="badge overdue">Overdue</span>' in html
    assert "<strong>1</strong> overdue" in html
    assert "<strong>2</strong> not started" in html


def test_include_everyone_below_me_adds_indirect_reports(client, team):
    client.force_login(team["boss"].user)
    html = client.get(reverse("web:team"), {"everyone": "1"}).content.decode()
    assert "Cleo Indirect" in html
    assert "Cleo course" in html


def test_my_team_is_forbidden_to_people_without_reports(client, team):
    client.force_login(team["ben"].user)
    response = client.get(reverse("web:team"))
    assert response.status_code == 403
    assert "Traceback" not in response.content.decode()


def test_profile_shows_hr_attributes_read_only(learner_client, learner):
    html = learner_client.get(reverse("web:profile")).content.decode()
    assert learner.employee_id in html
    assert "Account Executive" in html
    assert 'name="job_title"' not in html
    assert 'name="time_zone"' in html and 'name="language"' in html


def test_profile_saves_time_zone_and_language_and_the_ui_follows(learner_client, learner):
    response = learner_client.post(
        reverse("web:profile"), {"time_zone": "America/New_York", "language": "fr"}
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "fr"
    learner.refresh_from_db()
    assert (learner.time_zone, learner.language) == ("America/New_York", "fr")
    assert '<html lang="fr">' in learner_client.get(reverse("web:profile")).content.decode()


def test_profile_refuses_an_unknown_time_zone(learner_client, learner):
    response = learner_client.post(
        reverse("web:profile"), {"time_zone": "Mars/Olympus", "language": "en"}
    )
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    learner.refresh_from_db()
    assert learner.time_zone == "UTC"


def test_learner_nav_marks_the_current_page_and_hides_other_roles_screens(learner_client):
    html = learner_client.get(reverse("web:catalogue")).content.decode()
    assert f'<a href="{reverse("web:catalogue")}" aria-current="page">Catalogue</a>' in html
    assert f'<a href="{reverse("web:home")}">My learning</a>' in html
    assert "My team" not in html
    assert ">People<" not in html and ">Authoring<" not in html and ">Enrolments<" not in html


def test_manager_sees_my_team_in_the_nav(client, team):
    client.force_login(team["boss"].user)
    assert "My team" in client.get(reverse("web:home")).content.decode()


def test_platform_admin_nav_links_to_the_admin_screens_that_exist(client, tenant):
    admin = grant(make_person(tenant), "platform_admin")
    client.force_login(admin.user)
    html = client.get(reverse("web:home")).content.decode()
    for name, label in (
        ("people:list", "People"),
        ("catalog:courses", "Authoring"),
        ("enrollment:assign", "Enrolments"),
    ):
        url = url_if_exists(name)  # a screen not wired yet is left out, not an error
        assert (f'<a href="{url}">{label}</a>' in html) == bool(url)


def test_content_owner_sees_authoring_but_not_people_or_enrolments(client, tenant):
    owner = grant(make_person(tenant), "content_owner")
    client.force_login(owner.user)
    html = client.get(reverse("web:home")).content.decode()
    assert (">Authoring</a>" in html) == bool(url_if_exists("catalog:courses"))
    assert ">People</a>" not in html and ">Enrolments</a>" not in html


def test_unknown_address_gets_a_friendly_404(learner_client):
    response = learner_client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html
    assert "Traceback" not in html


def test_server_error_page_shows_no_details():
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html


def test_admin_site_is_titled_uptake_administration(client):
    assert "Uptake administration" in client.get("/admin/login/").content.decode()
