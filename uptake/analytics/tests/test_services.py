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


def test_events_of_people_outside_the_organisation_are_refused(  # type: ignore[no-untyped-def]
    tenant, other_tenant, learner
) -> None:
    """The event table's keys are checked by its writers (ADR 0032): a person of another
    organisation, or no person at all, is refused by each write path, and nothing is kept."""
    from django.db import transaction

    from uptake.enrollment.tests import builders

    stranger = builders.person(other_tenant, first_name="Sam", last_name="Stranger")
    for person_id in (stranger.pk, stranger.pk + 10_000):
        message = f"not in organisation {tenant.pk}"
        with pytest.raises(ValueError, match=message), transaction.atomic():
            services.record_event(
                tenant_id=tenant.pk,
                person_id=person_id,
                verb=Verb.LAUNCHED,
                object_type="activity",
                object_id=1,
            )
        events = [
            services.new_event(
                tenant_id=tenant.pk,
                person_id=pid,
                verb=Verb.LAUNCHED,
                object_type="activity",
                object_id=1,
            )
            for pid in (learner.pk, person_id)
        ]
        refused = f"1 people who are {message}: {person_id}"
        with pytest.raises(ValueError, match=refused), transaction.atomic():
            services.record_events(events=events)
        with pytest.raises(ValueError, match=message), transaction.atomic():
            services.insert_event_rows(
                names=["tenant", "person", "verb", "object_type", "occurred_at", "data"],
                rows=[(tenant.pk, person_id, Verb.LAUNCHED, "activity", NOW, "{}")],
            )
    assert LearningEvent.objects.count() == 0
    # The organisation's own people are written as before.
    services.record_event(
        tenant_id=tenant.pk, person_id=learner.pk, verb=Verb.LAUNCHED, object_type="x", object_id=1
    )
    assert LearningEvent.objects.filter(person_id=learner.pk).count() == 1


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
    # The people checked (ADR 0032), the insert, then a fixed number of statements whatever
    # the batch: people read and written, active periods, their counts, the person's active
    # weeks and the retention cells (the first activity moves their cohort), daily counts;
    # PostgreSQL also locks the people rows first (ADR 0014); the person's dimension copy and
    # the dimension cells of their active periods and retention; PostgreSQL re-reads a copy it
    # made (ADR 0017).
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
