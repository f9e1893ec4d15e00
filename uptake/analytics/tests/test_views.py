"""The analytics screens: dashboards render with data, the people behind a number can be
reminded, pilot comparison, downloads; learners are refused."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pyarrow.parquet as pq
import pytest
import time_machine

from tests.factories import grant
from uptake.demo.generator import OrgGenerator
from uptake.notifications.models import Notification
from uptake.people import rules as people_rules
from uptake.people.models import Person

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 18, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def org() -> Any:
    with time_machine.travel(NOW, tick=False):
        return OrgGenerator(tenant_slug="views", people=120, seed=6, now=NOW).build()


def _admin(org: Any) -> Person:
    person = Person.objects.filter(tenant_id=org.tenant_id, user__isnull=False).order_by("pk")[0]
    grant(person, people_rules.PLATFORM_ADMIN)
    return person


def _manager(org: Any) -> Person:
    return (
        Person.objects.filter(tenant_id=org.tenant_id, manager__isnull=False, user__isnull=False)
        .exclude(reports=None)
        .order_by("-pk")[0]
    )


@time_machine.travel(NOW, tick=False)
def test_admin_dashboard_shows_kpis_charts_and_tables(client, org) -> None:  # type: ignore[no-untyped-def]
    client.force_login(_admin(org).user)
    response = client.get("/analytics/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Activation", "Funnel", "Share of each team active", "Retention by week"):
        assert text in html
    assert html.count("<svg") >= 6
    assert 'id="table-heatmap"' in html and 'id="table-breakdown_department"' in html
    filtered = client.get("/analytics/?department=Sales&by=course")
    assert (
        filtered.status_code == 200 and 'id="table-breakdown_course"' in filtered.content.decode()
    )


@time_machine.travel(NOW, tick=False)
def test_the_dashboard_says_when_recent_events_are_still_being_counted(client, org) -> None:  # type: ignore[no-untyped-def]
    """ADR 0035: while a large recompute's events wait for the worker, the figures say so."""
    from uptake.analytics import rollups
    from uptake.analytics.models import PendingRollup

    client.force_login(_admin(org).user)
    assert "still being counted" not in client.get("/analytics/").content.decode()
    person = Person.objects.filter(tenant_id=org.tenant_id).order_by("pk")[0]
    PendingRollup.objects.create(
        tenant_id=org.tenant_id, verb="assigned", occurred_at=NOW, people=str(person.pk), events=1
    )
    assert "still being counted" in client.get("/analytics/").content.decode()
    rollups.apply_pending()
    assert "still being counted" not in client.get("/analytics/").content.decode()


def test_manager_dashboard_shows_the_team_and_overdue(client, org) -> None:  # type: ignore[no-untyped-def]
    manager = _manager(org)
    client.force_login(manager.user)
    html = client.get("/analytics/team/").content.decode()
    assert "Each person&#x27;s status" in html or "Each person's status" in html
    report = Person.objects.filter(manager=manager).first()
    assert report is not None and report.last_name in html
    assert client.get("/analytics/").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_learner_is_refused(client, org) -> None:  # type: ignore[no-untyped-def]
    learner = Person.objects.filter(tenant_id=org.tenant_id, reports=None, user__isnull=False)[0]
    client.force_login(learner.user)
    assert client.get("/analytics/team/").status_code == 403
    assert client.get("/analytics/people/?metric=overdue").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_drill_down_and_remind_these(client, org) -> None:  # type: ignore[no-untyped-def]
    client.force_login(_admin(org).user)
    page = client.get("/analytics/people/?metric=not_started&department=Sales")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Remind these people by email" in html
    response = client.post(
        "/analytics/people/remind/", {"metric": "not_started", "department": "Sales"}, follow=True
    )
    assert "Reminded" in response.content.decode()
    reminded = set(Notification.objects.filter(kind="reminder").values_list("person_id", flat=True))
    assert reminded and set(
        Person.objects.filter(pk__in=reminded).values_list("department", flat=True)
    ) == {"Sales"}
    again = client.post(
        "/analytics/people/remind/", {"metric": "not_started", "department": "Sales"}, follow=True
    )
    assert "already reminded today" in again.content.decode()


@time_machine.travel(NOW, tick=False)
def test_compare_two_departments_and_download_it(client, org) -> None:  # type: ignore[no-untyped-def]
    client.force_login(_admin(org).user)
    query = "a_department=Sales&b_department=Engineering"
    html = client.get(f"/analytics/compare/?{query}").content.decode()
    assert "95% interval" in html and "Activation" in html
    parquet = client.get(f"/analytics/export/compare.parquet?{query}")
    rows = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    assert [r["metric"] for r in rows][:3] == ["activation", "start_rate", "completion"]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "name",
    ["kpis", "funnel", "trend", "heatmap", "retention", "breakdown_location", "people_overdue"],
)
def test_every_table_downloads(client, org, name) -> None:  # type: ignore[no-untyped-def]
    client.force_login(_admin(org).user)
    for fmt in ("csv", "parquet"):
        response = client.get(f"/analytics/export/{name}.{fmt}")
        assert response.status_code == 200, (name, fmt)
    assert client.get("/analytics/export/nope.csv").status_code == 404
    assert client.get("/analytics/export/kpis.xlsx").status_code == 404
