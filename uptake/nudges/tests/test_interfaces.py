"""The API and the screens: admins manage campaigns, learners their preferences; errors are
clear (problem+json, form messages), other tenants' ids answer 404."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import PersonFactory, grant
from uptake.nudges import channels, services
from uptake.nudges.models import Campaign, Preference
from uptake.nudges.tests.conftest import SYSTEM, enrol, make_campaign, make_course

pytestmark = pytest.mark.django_db


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


@pytest.fixture
def admin(tenant):
    return grant(PersonFactory(tenant=tenant, first_name="Ada"), "platform_admin")


def test_admin_creates_activates_and_experiments_with_a_campaign_through_the_api(tenant, admin):
    api = client_for(admin)
    course = make_course(tenant)
    created = api.post(
        "/api/v1/nudges/campaigns",
        json.dumps(
            {
                "name": "Starter",
                "trigger": "not_started",
                "days": 3,
                "scope": "course",
                "course_id": course.pk,
                "channels": ["email", "teams"],
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    assert created.json()["status"] == "draft"
    active = api.post(
        f"/api/v1/nudges/campaigns/{cid}/status",
        json.dumps({"status": "active"}),
        content_type="application/json",
    )
    assert active.json()["status"] == "active" and active.json()["activated_at"]
    exp = api.post(
        f"/api/v1/nudges/campaigns/{cid}/experiment",
        json.dumps(
            {
                "arms": [{"name": "control"}, {"name": "short", "subject": "Quick one"}],
                "holdout_percent": 10,
            }
        ),
        content_type="application/json",
    )
    assert exp.json()["experiment"] == "running" and [a["name"] for a in exp.json()["arms"]] == [
        "control",
        "short",
    ]
    results = api.get(f"/api/v1/nudges/campaigns/{cid}/results").json()
    assert results["test"].startswith("two-sided two-proportion z-test")
    stop = api.post(
        f"/api/v1/nudges/campaigns/{cid}/experiment/stop",
        json.dumps({"winner": "short"}),
        content_type="application/json",
    )
    assert stop.json()["winner"] == "short"
    assert api.get("/api/v1/nudges/deliveries").json()["count"] == 0


def test_invalid_campaigns_answer_problem_json_with_each_field(tenant, admin):
    api = client_for(admin)
    bad = api.post(
        "/api/v1/nudges/campaigns",
        json.dumps(
            {
                "name": "",
                "trigger": "due_soon",
                "days": 0,
                "scope": "course",
                "course_id": 999999,
                "channels": ["pigeon"],
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("application/problem+json")
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"name", "days", "channels", "course_id"} <= fields


def test_learners_cannot_manage_campaigns_and_other_tenants_campaigns_are_not_found(
    tenant, other_tenant, admin
):
    theirs = make_campaign(other_tenant, trigger="assigned")
    learner = PersonFactory(tenant=tenant)
    assert client_for(learner).get("/api/v1/nudges/campaigns").status_code == 403
    assert client_for(admin).get(f"/api/v1/nudges/campaigns/{theirs.pk}").status_code == 404
    assert client_for(admin).get(f"/nudges/campaigns/{theirs.pk}/").status_code == 404


def test_a_learner_sets_their_own_preferences_by_api_and_screen(tenant):
    me = PersonFactory(tenant=tenant)
    api = client_for(me)
    put = api.put(
        "/api/v1/nudges/preferences",
        json.dumps({"email": False, "in_app": True, "teams": True, "slack": False}),
        content_type="application/json",
    )
    assert put.json() == {"email": False, "in_app": True, "teams": True, "slack": False}
    page = api.post("/nudges/preferences/", {"enabled": ["email", "in_app"]})
    assert page.status_code == 302
    assert set(
        Preference.objects.filter(person=me, enabled=False).values_list("channel", flat=True)
    ) == {"teams", "slack"}


def test_campaign_editor_saves_shows_errors_and_previews_each_channel(tenant, admin):
    web = client_for(admin)
    course = make_course(tenant)
    learner = PersonFactory(
        tenant=tenant, first_name="Lea", language="fr", time_zone="Europe/Paris"
    )
    enrol(learner, course, assigned_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    bad = web.post(
        "/nudges/campaigns/new/", {"name": "", "trigger": "assigned", "channels": ["email"]}
    )
    assert bad.status_code == 400 and "Give the campaign a name." in bad.content.decode()
    ok = web.post(
        "/nudges/campaigns/new/",
        {
            "name": "Welcome",
            "trigger": "assigned",
            "scope": "tenant",
            "channels": ["email", "in_app", "teams", "slack"],
            "subject": "Bienvenue {first_name}",
            "body": "{course} vous attend.",
            "weekly_cap": "3",
        },
    )
    assert ok.status_code == 302
    campaign = Campaign.objects.get(name="Welcome")
    page = web.get(f"/nudges/campaigns/{campaign.pk}/")
    assert page.status_code == 200 and "Live preview" in page.content.decode()
    preview = web.get(
        f"/nudges/campaigns/{campaign.pk}/preview/?person_id={learner.pk}"
    ).content.decode()
    assert "Bienvenue Lea" in preview
    assert "AdaptiveCard" in preview and "&quot;blocks&quot;" in preview
    assert "List-Unsubscribe" in preview
    missing = web.get(f"/nudges/campaigns/{campaign.pk}/preview/?person_id=999999")
    assert missing.status_code == 404


def test_delivery_log_settings_outbox_and_results_pages_render(tenant, admin, settings, tmp_path):
    web = client_for(admin)
    campaign = make_campaign(tenant, trigger="assigned")
    for url in [
        "/nudges/",
        "/nudges/log/?status=suppressed&channel=email",
        f"/nudges/campaigns/{campaign.pk}/results/",
    ]:
        assert web.get(url).status_code == 200, url
    added = web.post(
        "/nudges/settings/",
        {
            "action": "add_webhook",
            "kind": "teams",
            "name": "Sales",
            "url": "https://example.webhook.office.com/webhookb2/very-secret-path-abcd",
        },
    )
    assert added.status_code == 302
    html = web.get("/nudges/settings/").content.decode()
    assert "very-secret-path" not in html and "…abcd" in html
    bad = web.post(
        "/nudges/settings/",
        {"action": "add_webhook", "kind": "slack", "name": "X", "url": "ftp://nope"},
    )
    assert bad.status_code == 400 and "https://" in bad.content.decode()
    settings.EMAIL_FILE_PATH = str(tmp_path)
    (tmp_path / "20260302-1.log").write_bytes(
        b"Subject: Hello\nTo: a@example.com\nContent-Type: text/plain\n\nBody text\n"
        + b"-" * 79
        + b"\n"
    )
    listing = web.get("/nudges/outbox/").content.decode()
    assert "20260302-1.log" in listing
    assert "Body text" in web.get("/nudges/outbox/20260302-1.log/").content.decode()
    assert web.get("/nudges/outbox/..%2Fsecret/").status_code == 404


def test_banner_shows_overdue_and_due_soon_work_on_learner_pages(tenant):
    from django.utils import timezone

    me = PersonFactory(tenant=tenant)
    late, soon, later = (
        make_course(tenant, "Late one"),
        make_course(tenant, "Soon one"),
        make_course(tenant, "Later"),
    )
    now = timezone.now()
    enrol(me, late, assigned_at=now - dt.timedelta(days=20), due_at=now - dt.timedelta(days=1))
    enrol(me, soon, assigned_at=now, due_at=now + dt.timedelta(days=2))
    enrol(me, later, assigned_at=now, due_at=now + dt.timedelta(days=30))
    web = client_for(me)
    assert 'hx-get="/nudges/banner/"' in web.get("/catalogue/").content.decode()
    banner = web.get("/nudges/banner/").content.decode()
    assert (
        "Overdue" in banner
        and "Late one" in banner
        and "Soon one" in banner
        and "Later" not in banner
    )


def test_unsubscribe_page_asks_first_and_rejects_forged_links(tenant):
    me = PersonFactory(tenant=tenant)
    token = channels.unsubscribe_token(me.pk, tenant.pk)
    page = Client().get(f"/nudges/unsubscribe/{token}/")
    assert page.status_code == 200 and not Preference.objects.exists()
    assert Client().get("/nudges/unsubscribe/forged/").status_code == 400
    assert Client().post(f"/nudges/unsubscribe/{token}/").status_code == 200
    assert Preference.objects.get(person=me, channel="email").enabled is False


def test_manager_digest_and_one_click_nudge(tenant, commit, smtp_mail):
    from django.utils import timezone

    from uptake.notifications.models import Notification

    manager = PersonFactory(tenant=tenant, email="boss@acme.test")
    a = PersonFactory(tenant=tenant, manager=manager, first_name="Ann")
    b = PersonFactory(tenant=tenant, manager=manager, first_name="Bob")
    course = make_course(tenant)
    now = timezone.now()
    enrol(a, course, assigned_at=now - dt.timedelta(days=20), due_at=now - dt.timedelta(days=2))
    enrol(b, course, assigned_at=now - dt.timedelta(days=1), due_at=now + dt.timedelta(days=20))
    with commit():
        assert services.send_manager_digests(actor=SYSTEM, tenant_id=tenant.pk) == 1
        assert services.send_manager_digests(actor=SYSTEM, tenant_id=tenant.pk) == 0  # once a week
    [digest] = smtp_mail.wait_for(1)
    assert digest.rcpt_tos == ["boss@acme.test"] and "1 overdue, 1 not started" in digest.subject
    assert "/nudges/team/" in digest.text()
    web = client_for(manager)
    assert "Ann" in web.get("/nudges/team/").content.decode()
    with commit():
        assert web.post("/nudges/team/").status_code == 302
        web.post("/nudges/team/")  # twice the same day: nobody is told twice
    assert Notification.objects.filter(kind="manager_nudge").count() == 2


def test_seed_command_creates_the_starter_campaigns_once(tenant):
    from django.core.management import call_command

    call_command("seed_nudge_campaigns", tenant="acme")
    call_command("seed_nudge_campaigns", tenant="acme")
    assert Campaign.objects.filter(tenant=tenant, status="active").count() == 5
