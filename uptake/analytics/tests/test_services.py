"""The event fact table: one row per event, written with the change."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from uptake.analytics import selectors, services
from uptake.analytics.models import LearningEvent, Verb

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)


@time_machine.travel(NOW, tick=False)
def test_record_event_defaults_occurred_at_to_now(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    event = services.record_event(
        tenant_id=tenant.pk,
        person_id=learner.pk,
        verb=Verb.PASSED,
        object_type="activity",
        object_id=7,
        course_id=3,
        value=85.0,
    )
    event.refresh_from_db()
    assert (event.occurred_at, event.value, event.data, event.verb) == (NOW, 85.0, {}, "passed")


def test_unknown_verb_is_refused(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="Unknown learning event verb 'finished'"):
        services.record_event(
            tenant_id=tenant.pk, person_id=learner.pk, verb="finished", object_type="x", object_id=1
        )
    assert LearningEvent.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_record_events_bulk_inserts(tenant, learner, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    events = [
        services.new_event(
            tenant_id=tenant.pk,
            person_id=learner.pk,
            verb=Verb.LAUNCHED,
            object_type="activity",
            object_id=n,
        )
        for n in range(50)
    ]
    # The insert, then a fixed number of statements whatever the batch: people read and
    # written, active periods, their counts, the person's active weeks and the retention cells
    # (the first activity moves their cohort), daily counts; PostgreSQL also locks the people
    # rows first (ADR 0014); the person's dimension copy and the dimension cells of their
    # active periods and retention; PostgreSQL re-reads a copy it made (ADR 0017).
    with django_assert_max_num_queries(13):
        assert services.record_events(events=events) == 50
    assert LearningEvent.objects.filter(verb="launched").count() == 50
    assert services.record_events(events=[]) == 0


def test_has_event_since(tenant, learner) -> None:  # type: ignore[no-untyped-def]
    services.record_event(
        tenant_id=tenant.pk,
        person_id=learner.pk,
        verb=Verb.ACTIVE_SESSION,
        object_type="session",
        object_id=None,
        occurred_at=NOW,
    )
    kw = {"tenant_id": tenant.pk, "person_id": learner.pk, "verb": Verb.ACTIVE_SESSION}
    assert selectors.has_event_since(**kw, since=NOW) is True
    assert selectors.has_event_since(**kw, since=NOW + dt.timedelta(seconds=1)) is False
