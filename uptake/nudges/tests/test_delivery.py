"""Sweep and dispatch end to end, with a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from icalendar import Calendar

from uptake.core.models import OutboxMessage
from uptake.enrollment import services as enrollment_services
from uptake.notifications.models import Notification
from uptake.nudges import services
from uptake.nudges.models import Delivery, Nudge, Preference
from uptake.nudges.tests.conftest import SYSTEM, enrol, make_campaign, make_course

pytestmark = pytest.mark.django_db

MONDAY_10_LONDON = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_assigned_nudge_email_has_unsubscribe_deep_link_and_calendar(
    tenant, people, smtp_mail, run, commit
):
    course = make_course(tenant)
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        make_campaign(
            tenant, trigger="assigned", channels=("email", "in_app"), attach_calendar=True
        )
    e = enrol(
        people["learner"],
        course,
        assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=5),
        due_at=MONDAY_10_LONDON + dt.timedelta(days=14),
    )
    run(MONDAY_10_LONDON)

    [mail] = smtp_mail.wait_for(1)
    assert mail.rcpt_tos == ["noah@acme.test"]
    assert "Sales basics" in mail.subject
    unsubscribe = mail.message["List-Unsubscribe"].strip("<>")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/learn/{e.pk}/{course.page.pk}/" in mail.text()
    assert f"/learn/{e.pk}/{course.page.pk}/" in mail.html()
    [ics_part] = [
        p for p in mail.message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    cal = Calendar.from_ical(ics_part.get_content())
    assert cal["METHOD"] == "REQUEST"
    [event] = cal.walk("VEVENT")
    uid = str(event["UID"])
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTEND") == e.due_at
    assert (
        Notification.objects.filter(person=people["learner"], key__startswith="nudge:").count() == 1
    )

    # A one-click POST (RFC 8058) with no session unsubscribes; the next email nudge is suppressed.
    path = unsubscribe.split("://", 1)[1].split("/", 1)[1]
    response = Client(enforce_csrf_checks=True).post(
        "/" + path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Preference.objects.get(person=people["learner"], channel="email").unsubscribed_at

    # The due date moves: an update with the same UID and a higher SEQUENCE.
    smtp_mail.clear()
    with time_machine.travel(MONDAY_10_LONDON + dt.timedelta(hours=1), tick=False), commit():
        enrollment_services.change_due_date(
            actor=SYSTEM, enrollment=e, due_at=MONDAY_10_LONDON + dt.timedelta(days=21)
        )
    [update] = smtp_mail.wait_for(1)
    ics = next(
        p for p in update.message.iter_attachments() if p.get_content_type() == "text/calendar"
    )
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["UID"]) == uid and event["SEQUENCE"] == 1

    # Withdrawn: METHOD:CANCEL for the same UID.
    smtp_mail.clear()
    with time_machine.travel(MONDAY_10_LONDON + dt.timedelta(hours=2), tick=False), commit():
        enrollment_services.withdraw_enrollment(actor=SYSTEM, enrollment=e)
    [cancel] = smtp_mail.wait_for(1)
    ics = next(
        p for p in cancel.message.iter_attachments() if p.get_content_type() == "text/calendar"
    )
    cal = Calendar.from_ical(ics.get_content())
    assert cal["METHOD"] == "CANCEL"
    assert str(cal.walk("VEVENT")[0]["UID"]) == uid and cal.walk("VEVENT")[0]["SEQUENCE"] == 2


def test_quiet_hours_defer_to_the_send_window_in_the_persons_time_zone(
    tenant, people, smtp_mail, run, commit
):
    course = make_course(tenant)
    people["learner"].time_zone = "America/New_York"
    people["learner"].save()
    night = dt.datetime(2026, 3, 3, 3, 0, tzinfo=dt.UTC)  # 22:00 in New York
    with time_machine.travel(night - dt.timedelta(hours=1), tick=False):
        make_campaign(tenant, trigger="assigned", channels=("email",))
    enrol(people["learner"], course, assigned_at=night - dt.timedelta(minutes=1))
    run(night)
    assert smtp_mail.messages == []
    nudge = Nudge.objects.get()
    assert nudge.send_at == dt.datetime(2026, 3, 3, 14, 0, tzinfo=dt.UTC)  # 09:00 New York
    run(dt.datetime(2026, 3, 3, 13, 59, tzinfo=dt.UTC))
    assert smtp_mail.messages == []
    run(dt.datetime(2026, 3, 3, 14, 1, tzinfo=dt.UTC))
    assert len(smtp_mail.wait_for(1)) == 1


def test_weekly_cap_suppresses_the_lower_priority_campaign(tenant, people, smtp_mail, run, commit):
    services.set_policy(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        window_start=dt.time(0),
        window_end=dt.time(23, 59),
        weekdays="1234567",
        weekly_cap=1,
    )
    c1, c2 = make_course(tenant, "One"), make_course(tenant, "Two")
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        low = make_campaign(tenant, name="Low", trigger="assigned", priority=1, channels=("email",))
        high = make_campaign(
            tenant, name="High", trigger="assigned", priority=5, channels=("email",)
        )
    enrol(people["learner"], c1, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    enrol(people["learner"], c2, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=2))
    run(MONDAY_10_LONDON)
    statuses = {(n.campaign_id, n.status, n.reason) for n in Nudge.objects.all()}
    # High claims the one place a week; everything else is suppressed for the cap.
    assert sorted(n.status for n in Nudge.objects.filter(campaign=high)) == [
        "dispatched",
        "suppressed",
    ]
    assert {s for s in statuses if s[0] == low.pk} == {(low.pk, "suppressed", "cap")}
    assert len(smtp_mail.wait_for(1)) == 1
    assert Delivery.objects.filter(status="suppressed", reason="cap").count() == 3


def test_preferences_suppress_and_mandatory_overrides_with_a_notice(
    tenant, people, smtp_mail, run, commit
):
    course = make_course(tenant)
    services.set_preferences(actor=SYSTEM, person=people["learner"], enabled={"email": False})
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        make_campaign(tenant, name="Optional", trigger="assigned", channels=("email",))
        make_campaign(
            tenant, name="Compliance", trigger="assigned", channels=("email",), mandatory=True
        )
    enrol(people["learner"], course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    run(MONDAY_10_LONDON)
    [mail] = smtp_mail.wait_for(1)
    assert "mandatory reminder" in mail.text()
    assert mail.message["List-Unsubscribe"] is None
    log = {
        (d.campaign.name, d.status, d.reason, d.overridden)
        for d in Delivery.objects.select_related("campaign")
    }
    assert log == {
        ("Optional", "suppressed", "preference", False),
        ("Compliance", "queued", "", True),
    }


def test_teams_and_slack_payloads_reach_the_webhook_and_the_url_is_never_shown(
    tenant, people, http_receiver, client, run, commit
):
    http_receiver.clear()
    course = make_course(tenant)
    teams = services.add_webhook(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        kind="teams",
        name="Sales",
        url=f"{http_receiver.url}/teams/secret-token-1234",
    )
    services.add_webhook(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        kind="slack",
        name="Sales",
        url=f"{http_receiver.url}/slack/secret-token-9876",
    )
    assert "secret-token" not in teams.url_encrypted and "secret-token" not in teams.hint
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        make_campaign(tenant, trigger="assigned", channels=("teams", "slack"))
    e = enrol(people["learner"], course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    run(MONDAY_10_LONDON)
    received = {r.path.split("/")[1]: r for r in http_receiver.wait_for(2)}
    card = received["teams"].json["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard" and card["content"]["version"] == "1.5"
    [action] = card["content"]["actions"]
    assert action["type"] == "Action.OpenUrl" and f"/learn/{e.pk}/" in action["url"]
    blocks = received["slack"].json["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "actions"]
    assert f"/learn/{e.pk}/" in blocks[2]["elements"][0]["url"]
    assert OutboxMessage.objects.filter(channel="webhook", status="sent").count() == 2


def test_a_failing_webhook_is_retried_with_backoff_and_logged(
    tenant, people, http_receiver, run, commit
):
    from uptake.core import outbox
    from uptake.nudges import selectors

    http_receiver.clear()
    course = make_course(tenant)
    services.add_webhook(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        kind="slack",
        name="S",
        url=f"{http_receiver.url}/slack/x",
    )
    http_receiver.respond_with(503)
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        make_campaign(tenant, trigger="assigned", channels=("slack",))
    enrol(people["learner"], course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    run(MONDAY_10_LONDON)
    [d] = selectors.delivery_log(tenant_id=tenant.pk)
    assert d.state == "retrying" and "503" in d.outbox_message.last_error
    with time_machine.travel(MONDAY_10_LONDON + dt.timedelta(minutes=5), tick=False), commit():
        outbox.retry_due_messages()
    [d] = selectors.delivery_log(tenant_id=tenant.pk)
    assert d.state == "sent"
    assert len(http_receiver.requests) == 2


def test_sweeping_twice_decides_each_nudge_once(tenant, people, smtp_mail, run, commit):
    course = make_course(tenant)
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        make_campaign(tenant, trigger="assigned", channels=("email", "in_app"))
    enrol(people["learner"], course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    for minutes in (0, 5, 10):
        run(MONDAY_10_LONDON + dt.timedelta(minutes=minutes))
    assert Nudge.objects.count() == 1
    assert len(smtp_mail.wait_for(1)) == 1
    assert Notification.objects.filter(key__startswith="nudge:").count() == 1


def test_a_first_sweep_racing_another_decides_each_nudge_once(
    tenant, people, smtp_mail, run, commit, monkeypatch
):
    """A campaign's first sweep skips the "already decided?" look-up and writes its nudges
    straight into the table; a concurrent sweep that got there first (simulated: the second
    sweep is told the campaign has no nudges yet) makes it fall back to the careful insert."""
    from tests.factories import PersonFactory
    from uptake.nudges import sweep as sweep_module
    from uptake.nudges.models import Campaign

    course = make_course(tenant)
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        campaign = make_campaign(tenant, trigger="assigned", channels=("in_app",))
    enrol(people["learner"], course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    other = PersonFactory(tenant=tenant, manager=people["manager"], time_zone="Europe/London")
    enrol(other, course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=2))
    run(MONDAY_10_LONDON)
    assert Nudge.objects.filter(campaign=campaign, status="dispatched").count() == 2
    Campaign.objects.filter(pk=campaign.pk).update(swept_until=None)
    monkeypatch.setattr(sweep_module, "_has_nudges", lambda campaign_id: False)
    run(MONDAY_10_LONDON + dt.timedelta(minutes=5))
    assert Nudge.objects.filter(campaign=campaign).count() == 2
    assert Notification.objects.filter(key__startswith="nudge:").count() == 2


def test_held_out_people_get_nothing_and_arms_change_the_message(tenant, smtp_mail, run, commit):
    from tests.factories import PersonFactory

    course = make_course(tenant)
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        c = make_campaign(tenant, trigger="assigned", channels=("email",))
        services.start_experiment(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            campaign_id=c.pk,
            holdout_percent=20,
            arms=[
                services.ArmData("control", subject="Control {course}"),
                services.ArmData("friendly", subject="Friendly {course}"),
            ],
        )
    # 60 people: with 20 the hash-based holdout left nobody out about once in 90 runs
    # (0.8 ** 20), depending on the ids the database gave them.
    learners = [PersonFactory(tenant=tenant) for _ in range(60)]
    for p in learners:
        enrol(p, course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    run(MONDAY_10_LONDON)
    nudges = list(Nudge.objects.all())
    held = [n for n in nudges if n.status == "held_out"]
    sent = [n for n in nudges if n.status == "dispatched"]
    assert len(held) + len(sent) == 60 and held
    mails = smtp_mail.wait_for(len(sent))
    assert len(mails) == len(sent)
    by_arm = {n.person_id: n.arm for n in sent}
    emails = {p.email: p.pk for p in learners}
    for m in mails:
        arm = by_arm[emails[m.rcpt_tos[0]]]
        assert m.subject.startswith("Control" if arm == "control" else "Friendly")


def test_a_dispatch_that_dies_mid_batch_leaves_nothing_and_the_rerun_sends_once(
    tenant, people, smtp_mail, run, commit, monkeypatch
):
    from uptake.nudges import dispatch

    course = make_course(tenant)
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        make_campaign(tenant, trigger="assigned", channels=("email", "in_app"))
    enrol(people["learner"], course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    real = dispatch.insert_rows

    def dies(model, *args, **kwargs):
        if model is Delivery:
            raise SystemExit("worker killed")
        return real(model, *args, **kwargs)

    monkeypatch.setattr(dispatch, "insert_rows", dies)
    with pytest.raises(SystemExit):
        run(MONDAY_10_LONDON)
    assert Nudge.objects.get().dispatched_at is None
    assert not OutboxMessage.objects.exists() and not Notification.objects.exists()
    monkeypatch.setattr(dispatch, "insert_rows", real)
    run(MONDAY_10_LONDON + dt.timedelta(minutes=1))
    assert len(smtp_mail.wait_for(1)) == 1
    assert Notification.objects.count() == 1


def test_a_nudge_whose_campaign_is_gone_is_suppressed_not_a_crash(
    tenant, people, smtp_mail, commit
):  # type: ignore[no-untyped-def]
    """Nudges carry no database-checked references (ADR 0024): a nudge pointing at a campaign
    that no longer exists is closed as "no longer applies" and nothing is sent."""
    from uptake.nudges.dispatch import dispatch_due
    from uptake.nudges.models import Campaign
    from uptake.nudges.sweep import sweep

    course = make_course(tenant)
    with time_machine.travel(MONDAY_10_LONDON - dt.timedelta(hours=1), tick=False):
        campaign = make_campaign(tenant, trigger="assigned", channels=("email",))
    enrol(people["learner"], course, assigned_at=MONDAY_10_LONDON - dt.timedelta(minutes=3))
    with time_machine.travel(MONDAY_10_LONDON, tick=False), commit():
        sweep(now=MONDAY_10_LONDON)
    assert Nudge.objects.filter(status=Nudge.Status.QUEUED).count() == 1
    campaign.arms.all().delete()
    campaign.messages.all().delete()
    Campaign.objects.filter(pk=campaign.pk)._raw_delete(Campaign.objects.db)  # type: ignore[attr-defined]
    with time_machine.travel(MONDAY_10_LONDON, tick=False), commit():
        assert dispatch_due(now=MONDAY_10_LONDON) == 1
    nudge = Nudge.objects.get()
    assert (nudge.status, nudge.reason) == (Nudge.Status.SUPPRESSED, "no_longer_applies")
    assert nudge.dispatched_at is not None
    assert OutboxMessage.objects.count() == 0
