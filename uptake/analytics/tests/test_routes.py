"""/api/v1/analytics: who sees what, and the tables round-trip through CSV and Parquet."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pyarrow.parquet as pq
import pytest
import time_machine

from tests.factories import grant
from uptake.analytics import exports, reports
from uptake.analytics.selectors import Scope
from uptake.core.actor import Actor
from uptake.demo.generator import OrgGenerator
from uptake.identity.services import create_token
from uptake.people import rules as people_rules
from uptake.people.models import Person

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 18, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def org() -> Any:
    with time_machine.travel(NOW, tick=False):
        return OrgGenerator(tenant_slug="api", people=120, seed=5, now=NOW).build()


def _auth(person: Person) -> dict[str, str]:
    _, raw = create_token(actor=Actor.system(), user=person.user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


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
def test_admin_reads_kpis_and_every_report(client, org) -> None:  # type: ignore[no-untyped-def]
    headers = _auth(_admin(org))
    body = client.get("/api/v1/analytics/kpis", **headers).json()
    metrics = {m["metric"]: m["value"] for m in body["metrics"]}
    assert metrics["assigned"] > 100 and 0 < metrics["activation"] <= 1
    for name in ("funnel", "trend", "daily_active", "heatmap", "retention", "breakdown", "checks"):
        response = client.get(f"/api/v1/analytics/reports/{name}", **headers)
        assert response.status_code == 200, (name, response.content[:300])
        assert response.json()["rows"], name


@time_machine.travel(NOW, tick=False)
def test_manager_sees_only_their_team(client, org) -> None:  # type: ignore[no-untyped-def]
    manager = _manager(org)
    headers = _auth(manager)
    mine = client.get("/api/v1/analytics/kpis", **headers).json()
    assert mine["scope"] == {"manager_id": manager.pk}
    everyone = reports.kpis(scope=Scope(tenant_id=org.tenant_id), now=NOW)
    assert (
        dict((m["metric"], m["value"]) for m in mine["metrics"])["assigned"]
        < dict((r[0], r[2]) for r in everyone.rows)["assigned"]
    )
    top = Person.objects.get(tenant_id=org.tenant_id, manager__isnull=True)
    response = client.get(f"/api/v1/analytics/kpis?manager_id={top.pk}", **headers)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


@time_machine.travel(NOW, tick=False)
def test_learner_gets_403(client, org) -> None:  # type: ignore[no-untyped-def]
    learner = Person.objects.filter(tenant_id=org.tenant_id, reports=None, user__isnull=False)[0]
    response = client.get("/api/v1/analytics/kpis", **_auth(learner))
    assert response.status_code == 403


@time_machine.travel(NOW, tick=False)
def test_bad_input_is_a_clear_problem(client, org) -> None:  # type: ignore[no-untyped-def]
    headers = _auth(_admin(org))
    assert client.get("/api/v1/analytics/kpis?hire_month=2025-13", **headers).status_code == 400
    assert client.get("/api/v1/analytics/people?metric=bogus", **headers).status_code == 400
    assert client.get("/api/v1/analytics/reports/nope", **headers).status_code == 404
    assert client.get("/api/v1/analytics/kpis?audience_id=999999", **headers).status_code == 404


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("name", ["breakdown", "retention", "heatmap", "trend"])
def test_exports_round_trip(client, org, name) -> None:  # type: ignore[no-untyped-def]
    headers = _auth(_admin(org))
    shown = client.get(f"/api/v1/analytics/reports/{name}", **headers).json()
    parquet = client.get(f"/api/v1/analytics/reports/{name}?format=parquet", **headers)
    assert parquet["Content-Disposition"] == f'attachment; filename="{shown["name"]}.parquet"'
    back = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    keys = [c["key"] for c in shown["columns"]]
    assert [[_plain(r[k]) for k in keys] for r in back] == shown["rows"]
    text = client.get(f"/api/v1/analytics/reports/{name}?format=csv", **headers).content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == keys and len(rows) == len(shown["rows"]) + 1


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def test_parquet_round_trip_keeps_types() -> None:
    table = reports.Table(
        name="t",
        title="t",
        columns=[
            reports.Column("name", "Name"),
            reports.Column("n", "N", "int"),
            reports.Column("share", "Share", "percent"),
            reports.Column("day", "Day", "date"),
            reports.Column("at", "At", "datetime"),
        ],
        rows=[
            ("Sales", 3, 0.5, dt.date(2025, 1, 6), dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)),
            ("", 0, None, None, None),
        ],
    )
    back = pq.read_table(io.BytesIO(exports.to_parquet(table))).to_pylist()
    assert [tuple(r.values()) for r in back] == table.rows


@time_machine.travel(NOW, tick=False)
def test_remind_not_started_sends_once_per_day(client, org) -> None:  # type: ignore[no-untyped-def]
    from uptake.core.models import OutboxMessage
    from uptake.notifications.models import Notification

    manager = _manager(org)
    headers = _auth(manager)
    drill = client.get("/api/v1/analytics/people?metric=not_started&limit=1000", **headers).json()
    people = {r[0] for r in drill["rows"]}
    assert people
    body = {"metric": "not_started"}
    first = client.post(
        "/api/v1/analytics/remind", body, content_type="application/json", **headers
    )
    assert first.json() == {"reminded": len(people)}
    again = client.post(
        "/api/v1/analytics/remind", body, content_type="application/json", **headers
    )
    assert again.json() == {"reminded": 0}
    assert (
        set(Notification.objects.filter(kind="reminder").values_list("person_id", flat=True))
        == people
    )
    assert OutboxMessage.objects.filter(channel="email").count() >= 1
    refused = client.post(
        "/api/v1/analytics/remind",
        {"metric": "completed"},
        content_type="application/json",
        **headers,
    )
    assert refused.status_code == 400
