"""Forwarding the organisation's learning events to an external LRS, against a real HTTP
receiver standing in for the LRS."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import time_machine

from tests.factories import ActivityFactory, EnrollmentFactory, ModuleFactory, PersonFactory, grant
from uptake.analytics.models import LearningEvent
from uptake.core import outbox
from uptake.core.actor import Actor
from uptake.core.errors import ValidationFailed
from uptake.core.models import OutboxMessage
from uptake.identity.services import create_token
from uptake.people import rules as roles
from uptake.progress import services as progress
from uptake.xapi import forwarding, forwarding_rules, rules, uptake_link
from uptake.xapi.models import Forwarding

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
ADL = "http://adlnet.gov/expapi/verbs/"


def _facts(**changes):
    base = {
        "event_id": 7,
        "tenant_id": 1,
        "verb": "passed",
        "object_type": "activity",
        "object_id": 17,
        "course_id": 3,
        "occurred_at": dt.datetime(2026, 3, 2, 10, 0, 5, 123456, tzinfo=dt.UTC),
        "value": 85.0,
        "person_name": "Ann Lee",
        "person_email": "ann@example.com",
        "person_employee_id": "E-42",
        "person_id": 5,
        "course_title": "Sales basics",
        "activity_title": "Quiz 1",
        "activity_kind": "quiz",
        "language": "en",
    }
    base.update(changes)
    return forwarding_rules.EventFacts(**base)


def test_a_passed_event_is_a_valid_statement_about_the_uptake_activity(settings):
    settings.UPTAKE_BASE_URL = "https://lms.example.com"
    st = forwarding_rules.statement_for(_facts(), base_url="https://lms.example.com")
    rules.validate_statement(st)
    assert st["actor"] == {
        "objectType": "Agent",
        "name": "Ann Lee",
        "mbox": "mailto:ann@example.com",
    }
    assert st["verb"]["id"] == ADL + "passed"
    assert st["object"]["id"] == uptake_link.activity_iri(3, 17)
    assert st["object"]["definition"]["name"] == {"en": "Quiz 1"}
    assert st["result"] == {
        "score": {"scaled": 0.85, "raw": 85.0, "min": 0, "max": 100},
        "success": True,
    }
    assert st["timestamp"] == "2026-03-02T10:00:05.123Z"
    assert st["context"]["contextActivities"]["parent"][0]["id"] == uptake_link.course_iri(3)


def test_every_uptake_verb_gives_a_valid_statement_and_ids_are_stable_per_event():
    for verb in forwarding_rules.VERBS:
        object_type = (
            "course" if verb in ("assigned", "withdrawn", "course_completed") else "activity"
        )
        facts = _facts(verb=verb, object_type=object_type, person_email="")
        st = forwarding_rules.statement_for(facts, base_url="https://lms.example.com/")
        rules.validate_statement(st)
        assert st["actor"]["account"] == {"homePage": "https://lms.example.com", "name": "E-42"}
    one = forwarding_rules.statement_for(_facts(), base_url="https://a.example")
    assert one["id"] == forwarding_rules.statement_for(_facts(), base_url="https://a.example")["id"]
    assert (
        one["id"]
        != forwarding_rules.statement_for(_facts(event_id=8), base_url="https://a.example")["id"]
    )
    assert one["id"] != forwarding_rules.statement_for(_facts(), base_url="https://b.example")["id"]


def test_the_setting_refuses_a_plain_http_lrs_elsewhere_and_a_missing_secret(tenant):
    with pytest.raises(ValidationFailed, match="https"):
        forwarding.configure_forwarding(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            endpoint="http://lrs.example.com/xapi",
            key="k",
            secret="s",
        )
    with pytest.raises(ValidationFailed, match="secret"):
        forwarding.configure_forwarding(
            actor=SYSTEM,
            tenant_id=tenant.pk,
            endpoint="https://lrs.example.com/xapi",
            key="k",
            secret=None,
        )
    setting = forwarding.configure_forwarding(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        endpoint="https://lrs.example.com/xapi/",
        key="k",
        secret="s3cret",
    )
    assert "s3cret" not in setting.secret_encrypted


@pytest.fixture
def learner_course(tenant):
    person = PersonFactory(
        tenant=tenant, email="ann@example.com", first_name="Ann", last_name="Lee"
    )
    enrollment = EnrollmentFactory(person=person, tenant=tenant)
    module = ModuleFactory(course=enrollment.course, tenant=tenant)
    activity = ActivityFactory(
        module=module, course=enrollment.course, tenant=tenant, title="Intro"
    )
    return person, enrollment, activity


def test_learning_events_reach_the_lrs_as_statements_once(
    tenant, learner_course, http_receiver, django_capture_on_commit_callbacks
):
    http_receiver.clear()
    _person, enrollment, activity = learner_course
    old_events = LearningEvent.objects.filter(tenant=tenant).count()
    forwarding.configure_forwarding(
        actor=SYSTEM,
        tenant_id=tenant.pk,
        endpoint=f"{http_receiver.url}/lrs/xapi/",
        key="uptake",
        secret="pw",
    )
    with django_capture_on_commit_callbacks(execute=True):
        progress.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=activity)
    new_events = LearningEvent.objects.filter(tenant=tenant).count() - old_events
    assert new_events >= 2  # at least the activity and the course completed

    with django_capture_on_commit_callbacks(execute=True):
        assert forwarding.forward_learning_events() == new_events
    [request] = http_receiver.wait_for(1)
    assert request.method == "POST" and request.path == "/lrs/xapi/statements"
    assert request.header("X-Experience-API-Version") == "1.0.3"
    assert request.header("Authorization") == "Basic " + base64.b64encode(b"uptake:pw").decode()
    statements = request.json
    assert len(statements) == new_events
    for st in statements:
        rules.validate_statement(st)
        assert st["actor"]["mbox"] == "mailto:ann@example.com"
    completed = [st for st in statements if st["verb"]["id"] == ADL + "completed"]
    assert {st["object"]["id"] for st in completed} >= {
        uptake_link.activity_iri(activity.course_id, activity.pk),
        uptake_link.course_iri(activity.course_id),
    }
    assert OutboxMessage.objects.get(channel=forwarding.CHANNEL).status == "sent"

    # Nothing new: the next sweep sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert forwarding.forward_learning_events() == 0
    assert len(http_receiver.requests) == 1


def test_events_before_forwarding_was_set_are_not_sent(tenant, learner_course, http_receiver):
    http_receiver.clear()
    _person, enrollment, activity = learner_course
    progress.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=activity)
    forwarding.configure_forwarding(
        actor=SYSTEM, tenant_id=tenant.pk, endpoint=f"{http_receiver.url}/xapi", key="k", secret="s"
    )
    assert forwarding.forward_learning_events() == 0


def test_an_lrs_that_fails_is_retried_with_backoff_and_the_error_is_shown(
    tenant, learner_course, http_receiver, django_capture_on_commit_callbacks
):
    http_receiver.clear()
    _person, enrollment, activity = learner_course
    forwarding.configure_forwarding(
        actor=SYSTEM, tenant_id=tenant.pk, endpoint=f"{http_receiver.url}/xapi", key="k", secret="s"
    )
    progress.complete_activity(actor=SYSTEM, enrollment=enrollment, activity=activity)
    http_receiver.respond_with(503)
    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
        forwarding.forward_learning_events()
    state = forwarding.delivery_state(tenant_id=tenant.pk)
    assert state["pending_batches"] == 1 and "503" in state["last_error"]
    with time_machine.travel(now + dt.timedelta(minutes=5), tick=False):
        outbox.retry_due_messages()
    state = forwarding.delivery_state(tenant_id=tenant.pk)
    assert state["sent_batches"] == 1 and state["pending_batches"] == 0
    assert len(http_receiver.requests) == 2
    assert http_receiver.requests[0].json == http_receiver.requests[1].json  # same ids


def test_only_a_platform_admin_sets_forwarding_and_the_secret_is_never_shown(client, tenant):
    admin = grant(PersonFactory(tenant=tenant), roles.PLATFORM_ADMIN)
    learner = PersonFactory(tenant=tenant)

    def bearer(person):
        _, raw = create_token(actor=SYSTEM, user=person.user)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    body = {"endpoint": "https://lrs.example.com/xapi/", "key": "uptake", "secret": "pw-123"}
    denied = client.put(
        "/api/v1/xapi/forwarding", body, content_type="application/json", **bearer(learner)
    )
    assert denied.status_code == 403
    assert client.get("/api/v1/xapi/forwarding", **bearer(admin)).status_code == 404
    saved = client.put(
        "/api/v1/xapi/forwarding", body, content_type="application/json", **bearer(admin)
    )
    assert saved.status_code == 200, saved.content
    assert "pw-123" not in saved.content.decode() and saved.json()["key"] == "uptake"
    bad = client.put(
        "/api/v1/xapi/forwarding",
        {**body, "endpoint": "ftp://x"},
        content_type="application/json",
        **bearer(admin),
    )
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    # The secret may be left out: the stored one is kept.
    kept = client.put(
        "/api/v1/xapi/forwarding",
        {"endpoint": body["endpoint"], "key": "other"},
        content_type="application/json",
        **bearer(admin),
    )
    assert kept.status_code == 200
    assert forwarding._decrypt(Forwarding.objects.get(tenant=tenant).secret_encrypted) == "pw-123"
    assert client.delete("/api/v1/xapi/forwarding", **bearer(admin)).status_code == 204
    assert not Forwarding.objects.filter(tenant=tenant).exists()
