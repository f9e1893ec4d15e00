"""The rollups always equal a recomputation from the raw events, whatever the order, batching
and lateness of the events; the rebuild command recomputes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uptake.analytics import rollups, services
from uptake.analytics.models import ActivePeriod, CourseFact, LearningEvent, PendingRollup, Verb
from uptake.analytics.tests import reference
from uptake.enrollment.tests import builders

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 1, 27, 0, 0, tzinfo=dt.UTC)  # a Monday

_event = st.tuples(
    st.integers(0, 2),  # person index
    st.sampled_from(sorted(Verb.values)),
    st.sampled_from([None, 1, 2]),  # course index (None: no course)
    st.integers(0, 60 * 24 * 70),  # minutes after T0 (ten weeks, across months)
    st.integers(1, 3),  # attempt number
    st.booleans(),  # single path (record_event) or part of a bulk batch
)


_move = st.tuples(
    st.integers(0, 2),  # person index
    st.sampled_from(["department", "location", "manager", "hire_date", "is_active"]),
    st.integers(0, 2),  # which value
)


def _write(batch: list[tuple[Any, ...]], people: list[Any], tenant: Any) -> None:
    bulk = []
    for p, verb, course, minutes, attempt, single in batch:
        kwargs = dict(
            tenant_id=tenant.pk,
            person_id=people[p].pk,
            verb=verb,
            object_type="activity",
            object_id=(course or 0) * 10 + 1 if verb != "active_session" else None,
            course_id=course,
            occurred_at=T0 + dt.timedelta(minutes=minutes),
            data={"attempt": attempt} if verb in ("attempt_submitted", "passed", "failed") else {},
        )
        if single:
            services.record_event(**kwargs)  # type: ignore[arg-type]
        else:
            bulk.append(services.new_event(**kwargs))  # type: ignore[arg-type]
    services.record_events(events=bulk)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(
        st.tuples(st.lists(_event, max_size=25), st.lists(_move, max_size=3)),
        min_size=1,
        max_size=5,
    ),
    in_sql=st.lists(st.booleans(), min_size=5, max_size=5),
    later=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_rollups_equal_a_recomputation_from_raw_events(tenant, batches, in_sql, later) -> None:  # type: ignore[no-untyped-def]
    people = list(_people(tenant))
    _reset_people(people)
    LearningEvent.objects.all().delete()
    PendingRollup.objects.all().delete()
    for model in rollups.ROLLUP_MODELS:
        model.objects.all().delete()  # type: ignore[attr-defined]
    threshold = rollups.DIM_CELLS_IN_SQL
    for (batch, moves), sql, queued in zip(batches, in_sql, later, strict=False):
        # Batch by batch, the dimension cells spread in Python or by the database (as large
        # batches do); some batches left to the worker (ADR 0035), applied only at the end,
        # after the later batches and HR changes.
        rollups.DIM_CELLS_IN_SQL = 1 if sql else threshold
        try:
            with transaction.atomic(), rollups.held(later_from=1 if queued else None):
                _write(batch, people, tenant)
        finally:
            rollups.DIM_CELLS_IN_SQL = threshold
        # HR changes between batches (what the PersonChanged / PeopleImported handlers do).
        for p, attribute, choice in moves:
            _move_person(people, p, attribute, choice)
        services.sync_people(tenant_id=tenant.pk, person_ids=[p.pk for p in people])
    rollups.apply_pending()
    assert not PendingRollup.objects.exists()
    assert reference.stored() == reference.expected()
    rollups.rebuild()
    assert reference.stored() == reference.expected()
    # In ranges of one person (the rebuild's chunks; a few hundred thousand events each).
    chunk = rollups.REBUILD_CHUNK
    rollups.REBUILD_CHUNK = 1
    try:
        rollups.rebuild()
    finally:
        rollups.REBUILD_CHUNK = chunk
    assert reference.stored() == reference.expected()


def _move_person(people: list[Any], p: int, attribute: str, choice: int) -> None:
    from uptake.people.models import Person

    value: Any = {
        "department": ["", "Sales", "Support"][choice],
        "location": ["", "Paris", "Lyon"][choice],
        "manager": [None, people[(p + 1) % 3].pk, people[(p + 2) % 3].pk][choice],
        "hire_date": [None, dt.date(2024, 3, 4), dt.date(2024, 11, 30)][choice],
        "is_active": choice != 0,
    }[attribute]
    field = "manager_id" if attribute == "manager" else attribute
    Person.objects.filter(pk=people[p].pk).update(**{field: value})


def _reset_people(people: list[Any]) -> None:
    from uptake.people.models import Person

    for n, person in enumerate(people):
        Person.objects.filter(pk=person.pk).update(
            department=["Sales", "Support", ""][n],
            location=["Paris", "", "Paris"][n],
            manager_id=None if n == 0 else people[0].pk,
            hire_date=None if n == 2 else dt.date(2024, 1 + n, 15),
            is_active=True,
        )


def _people(tenant: Any) -> list[Any]:
    from uptake.people.models import Person

    existing = list(Person.objects.filter(tenant=tenant, employee_id__startswith="P-"))
    if existing:
        return sorted(existing, key=lambda p: p.employee_id)
    return [builders.person(tenant, employee_id=f"P-{n}") for n in range(3)]


def test_backdated_completion_moves_the_facts_back(tenant) -> None:  # type: ignore[no-untyped-def]
    person = builders.person(tenant)
    kw = dict(tenant_id=tenant.pk, person_id=person.pk, object_type="course", object_id=5)
    services.record_event(verb=Verb.ASSIGNED, course_id=5, occurred_at=T0, **kw)  # type: ignore[arg-type]
    services.record_event(  # type: ignore[arg-type]
        verb=Verb.COURSE_COMPLETED, course_id=5, occurred_at=T0 + dt.timedelta(days=20), **kw
    )
    # An import brings the real completion date, earlier than the one recorded.
    services.record_events(
        events=[
            services.new_event(  # type: ignore[arg-type]
                verb=Verb.COURSE_COMPLETED, course_id=5, occurred_at=T0 + dt.timedelta(days=3), **kw
            )
        ]
    )
    fact = CourseFact.objects.get(person=person, course_id=5)
    assert fact.completed_at == T0 + dt.timedelta(days=3)
    assert fact.started_at == T0 + dt.timedelta(days=3)
    assert ActivePeriod.objects.filter(person=person, grain="d").count() == 2


def test_rebuild_command_recomputes_the_rollups(tenant) -> None:  # type: ignore[no-untyped-def]
    person = builders.person(tenant)
    services.record_event(
        tenant_id=tenant.pk,
        person_id=person.pk,
        verb=Verb.LAUNCHED,
        object_type="activity",
        object_id=1,
        course_id=2,
        occurred_at=T0,
    )
    want = reference.stored()
    CourseFact.objects.all().delete()
    ActivePeriod.objects.all().delete()
    call_command("rebuild_analytics", tenant=tenant.slug, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert reference.stored() == want


def test_rebuild_in_person_ranges_covers_every_tenant_and_person(  # type: ignore[no-untyped-def]
    tenant, other_tenant, monkeypatch
) -> None:
    people = [builders.person(t) for t in (tenant, other_tenant, tenant, other_tenant, tenant)]
    for i, person in enumerate(people):
        for day in range(3):
            services.record_event(
                tenant_id=person.tenant_id,
                person_id=person.pk,
                verb=Verb.LAUNCHED if day else Verb.ASSIGNED,
                object_type="course",
                object_id=1 + i % 2,
                course_id=1 + i % 2,
                occurred_at=T0 + dt.timedelta(days=day * 3, hours=i),
            )
    want = reference.stored()
    monkeypatch.setattr(rollups, "REBUILD_CHUNK", 4)  # a range per person or two
    assert rollups.rebuild() == 15
    assert reference.stored() == want
    assert rollups.rebuild(tenant_id=other_tenant.pk) == 6
    assert reference.stored() == want


def test_an_hr_change_moves_the_person_between_dimension_cells(  # type: ignore[no-untyped-def]
    tenant, django_capture_on_commit_callbacks
) -> None:
    from uptake.people import services as people_services

    person = builders.person(tenant, department="Sales", location="Paris")
    kw = dict(tenant_id=tenant.pk, person_id=person.pk, object_type="course", object_id=5)
    services.record_event(verb=Verb.ASSIGNED, course_id=5, occurred_at=T0, **kw)  # type: ignore[arg-type]
    services.record_event(  # type: ignore[arg-type]
        verb=Verb.COURSE_COMPLETED, course_id=5, occurred_at=T0 + dt.timedelta(days=2), **kw
    )
    assert reference.stored() == reference.expected()
    with django_capture_on_commit_callbacks(execute=True):
        people_services.update_person(
            actor=builders.actor_of(person), person=person, department="Support"
        )
    stored = reference.stored()
    assert stored == reference.expected()
    assert {k[2] for k in stored["dim_cells"] if k[1] == "d"} == {"Support"}


def test_record_event_returns_the_stored_event(tenant) -> None:  # type: ignore[no-untyped-def]
    person = builders.person(tenant)
    event = services.record_event(
        tenant_id=tenant.pk,
        person_id=person.pk,
        verb=Verb.PASSED,
        object_type="activity",
        object_id=7,
        course_id=2,
        value=0.8,
        occurred_at=T0,
        data={"attempt": 2, "note": "café"},
    )
    stored = LearningEvent.objects.get(pk=event.pk)
    assert (stored.person_id, stored.verb, stored.object_id, stored.course_id) == (
        person.pk,
        Verb.PASSED,
        7,
        2,
    )
    assert (stored.value, stored.occurred_at, stored.data) == (
        0.8,
        T0,
        {"attempt": 2, "note": "café"},
    )
    event.value = 0.9
    event.save()  # a saved instance: an UPDATE of its row, not a second event
    assert LearningEvent.objects.filter(person=person).count() == 1
    assert LearningEvent.objects.get(pk=event.pk).value == 0.9


def _launch_captured(tenant: Any, person: Any, at: dt.datetime) -> list[dict[str, Any]]:
    """Record one "launched" event for the person at `at`; the queries it sent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        services.record_event(
            tenant_id=tenant.pk,
            person_id=person.pk,
            verb=Verb.LAUNCHED,
            object_type="activity",
            object_id=1,
            course_id=2,
            occurred_at=at,
        )
    return list(queries.captured_queries)


def test_one_event_costs_one_or_two_round_trips_on_postgresql(tenant) -> None:  # type: ignore[no-untyped-def]
    """ADR 0027: the event's INSERT, the placeholders, the locked reads and the day's counts go
    in one round trip; the writes that depend on what was read in a second one."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("round trips are a PostgreSQL matter (SQLite runs in the process)")
    person = builders.person(tenant)

    def record(at: dt.datetime) -> int:
        return len(_launch_captured(tenant, person, at))

    # The person's first event ever also copies their dimensions (PersonDims) from Person.
    assert record(T0) <= 5
    assert record(T0) == 1  # the same day again: only the event and the day's counts
    # A new active day: its periods and their counts written in the second round trip.
    assert record(T0 + dt.timedelta(days=1)) == 2
    want = reference.stored()
    call_command("rebuild_analytics", tenant=tenant.slug, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert reference.stored() == want


def test_one_event_runs_statements_prepared_on_its_connection(tenant) -> None:  # type: ignore[no-untyped-def]
    """ADR 0033: a single event's statements are prepared once per connection and then
    executed by name (no planning); a failed send leaves the next events working."""
    from django.db import IntegrityError, connection, transaction
    from django.test import override_settings

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (SQLite keeps its own)")
    people = [builders.person(tenant) for _ in range(3)]

    def record(person: Any, at: dt.datetime) -> list[str]:
        return [s for q in _launch_captured(tenant, person, at) for s in q["sql"].split("; ")]

    record(people[0], T0)
    statements = record(people[1], T0)  # same shapes, another person: by name only
    assert (
        statements and [s for s in statements if not s.startswith("EXECUTE uptake_rollup_")] == []
    )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        rollups._execute_all(
            cursor,
            [("SELECT %s::int", [1]), ("INSERT INTO analytics_personfact DEFAULT VALUES", [])],
        )
    record(people[2], T0 + dt.timedelta(days=1))
    # The server lost them (as behind a pooler in transaction mode): a clear error, then the
    # connection prepares them again.
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    lost = "UPTAKE_PREPARED_STATEMENTS=false"
    with pytest.raises(RuntimeError, match=lost), transaction.atomic():
        record(people[2], T0 + dt.timedelta(days=2))
    record(people[2], T0 + dt.timedelta(days=2))
    with override_settings(UPTAKE_PREPARED_STATEMENTS=False):
        plain = record(people[1], T0 + dt.timedelta(days=3))
    assert plain and not [s for s in plain if s.startswith("EXECUTE")]
    want = reference.stored()
    call_command("rebuild_analytics", tenant=tenant.slug, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert reference.stored() == want


def test_a_bulk_batch_sent_statement_by_statement_equals_the_reference(tenant) -> None:  # type: ignore[no-untyped-def]
    """A batch large enough that the queued statements are bound one by one and sent as one
    text without parameters (PostgreSQL) stores what the reference computes, text values with
    quotes and percent signs included."""
    from django.db import connection

    people = [
        builders.person(tenant, department=f"R&D 100% 'core' {i}", location="O'Hare")
        for i in range(40)
    ]
    events = [
        services.new_event(
            tenant_id=tenant.pk,
            person_id=person.pk,
            verb=verb,
            object_type="activity",
            object_id=course * 10 + 1,
            course_id=course,
            occurred_at=T0 + dt.timedelta(days=day, minutes=i),
        )
        for i, person in enumerate(people)
        for course in (1, 2, 3)
        for day in (0, 1, 9)
        for verb in (Verb.ASSIGNED, Verb.LAUNCHED, Verb.COURSE_COMPLETED)
    ]
    sends: list[tuple[str, Any]] = []

    def spy(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        sends.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        services.record_events(events=events)
    assert reference.stored() == reference.expected()
    if connection.vendor == "postgresql":
        prebound = [sql for sql, params in sends if ";" in sql and params is None]
        assert prebound, "no send was bound statement by statement"
        # (in an array literal of an unnest upsert: quotes doubled inside the SQL string)
        assert any("R&D 100% ''core'' 7" in sql for sql in prebound)
        assert any("unnest(" in sql for sql in prebound)


def test_held_rollups_are_applied_once_as_the_block_ends(tenant) -> None:  # type: ignore[no-untyped-def]
    """ADR 0028: events recorded in a held block reach the rollups when it ends, in the same
    transaction; a due-date sync inside the block applies what was held first; the result
    equals the reference."""
    from django.db import transaction

    from uptake.enrollment.models import Enrollment

    people = [builders.person(tenant) for _ in range(3)]
    course = builders.make_course(tenant).course
    kw = dict(tenant_id=tenant.pk, object_type="course", object_id=course.pk, course_id=course.pk)
    with transaction.atomic(), services.rollups_held():
        services.record_events(
            events=[
                services.new_event(person_id=p.pk, verb=Verb.ASSIGNED, occurred_at=T0, **kw)  # type: ignore[arg-type]
                for p in people
            ]
        )
        event = services.record_event(  # type: ignore[arg-type]
            person_id=people[0].pk, verb=Verb.LAUNCHED, occurred_at=T0, **kw
        )
        assert event.pk is not None
        assert not CourseFact.objects.filter(tenant=tenant).exists()  # held
        with services.rollups_held():  # nested: part of the outer block
            services.record_event(  # type: ignore[arg-type]
                person_id=people[1].pk, verb=Verb.LAUNCHED, occurred_at=T0, **kw
            )
        assert not CourseFact.objects.filter(tenant=tenant).exists()
        Enrollment.objects.create(
            tenant=tenant,
            person=people[2],
            course=course,
            assigned_at=T0,
            due_at=T0 + dt.timedelta(days=9),
        )
        services.sync_due_dates(tenant_id=tenant.pk, pairs=[(people[2].pk, course.pk)])
        fact = CourseFact.objects.get(person=people[2])  # applied before the sync
        assert fact.due_at == T0 + dt.timedelta(days=9)
        services.record_event(  # type: ignore[arg-type]
            person_id=people[2].pk, verb=Verb.LAUNCHED, occurred_at=T0, **kw
        )
    assert CourseFact.objects.filter(tenant=tenant, started_at=T0).count() == 3
    assert reference.stored() == reference.expected()


def _record(tenant: Any, people: list[Any], courses: list[Any], verb: str = Verb.ASSIGNED) -> None:
    """One bulk batch: `verb` for every person in every course, at T0."""
    services.record_events(
        events=[
            services.new_event(  # type: ignore[arg-type]
                tenant_id=tenant.pk,
                person_id=p.pk,
                verb=verb,
                object_type="course",
                object_id=c.pk,
                course_id=c.pk,
                occurred_at=T0,
            )
            for c in courses
            for p in people
        ]
    )


def test_a_large_held_batch_is_left_to_the_worker(  # type: ignore[no-untyped-def]
    tenant, django_capture_on_commit_callbacks
) -> None:
    """ADR 0035: from `later_from` events a held block queues them instead of applying them
    and has the worker called once it commits; the worker brings the rollups to the
    reference, with an event recorded at once meanwhile; below the threshold nothing waits."""
    people = [builders.person(tenant) for _ in range(4)]
    course = builders.make_course(tenant).course
    kw = dict(tenant_id=tenant.pk, object_type="course", object_id=course.pk, course_id=course.pk)

    with transaction.atomic(), rollups.held(later_from=3):
        _record(tenant, people[:2], [course])  # fewer than 3: applied as the block ends
    assert not PendingRollup.objects.exists()
    assert CourseFact.objects.filter(tenant=tenant).count() == 2
    with (
        django_capture_on_commit_callbacks() as callbacks,
        transaction.atomic(),
        rollups.held(later_from=3),
    ):
        _record(tenant, people[2:], [course])
        _record(tenant, people[3:], [course], Verb.LAUNCHED)
    assert services.pending_rollups(tenant_id=tenant.pk) == 3
    assert CourseFact.objects.filter(tenant=tenant).count() == 2  # not counted yet
    # Meanwhile, an event recorded at once: its rollups before the queued ones'.
    services.record_event(  # type: ignore[arg-type]
        person_id=people[2].pk, verb=Verb.LAUNCHED, occurred_at=T0 + dt.timedelta(hours=1), **kw
    )
    assert len(callbacks) == 1  # the worker's task, enqueued on commit (run at once here)
    callbacks[0]()
    assert not PendingRollup.objects.exists()
    assert reference.stored() == reference.expected()
    assert services.apply_pending_rollups() == 0


def test_the_worker_applies_in_chunks_and_skips_people_erased_meanwhile(tenant) -> None:  # type: ignore[no-untyped-def]
    """One queue row per group of events that differ only by person (here one per course);
    the worker takes rows in order until a chunk is full, and leaves out a person erased
    since (their events went with them)."""
    people = [builders.person(tenant) for _ in range(5)]
    courses = [builders.make_course(tenant).course for _ in range(2)]
    with transaction.atomic(), rollups.held(later_from=1):
        _record(tenant, people, courses)
    assert PendingRollup.objects.count() == 2
    assert services.pending_rollups(tenant_id=tenant.pk) == 10
    people[0].delete()
    assert rollups.apply_pending(chunk=1) == 8  # one row per transaction
    assert not PendingRollup.objects.exists()
    assert reference.stored() == reference.expected()


def test_rows_inserted_by_another_app_are_folded_like_recorded_events(tenant) -> None:  # type: ignore[no-untyped-def]
    """`insert_event_rows` (rows another app builds; here without a course column) with passes
    carrying their attempt number in JSON text: the rollups equal the reference."""
    people = [builders.person(tenant) for _ in range(2)]
    names = ["tenant", "person", "verb", "object_type", "object_id", "occurred_at", "data"]
    rows = [
        (tenant.pk, p.pk, verb, "activity", 7, T0 + dt.timedelta(minutes=n), data)
        for n, (p, verb, data) in enumerate(
            [
                (people[0], Verb.ATTEMPT_SUBMITTED, '{"attempt": 1}'),
                (people[0], Verb.PASSED, '{"attempt": 2}'),
                (people[1], Verb.PASSED, "{}"),
                (people[1], Verb.LAUNCHED, '{"attempt": 9}'),
            ]
        )
    ]
    services.insert_event_rows(names=names, rows=rows)
    assert reference.stored() == reference.expected()


def test_a_rebuild_empties_the_queue(tenant) -> None:  # type: ignore[no-untyped-def]
    """The queued events are in the event table the rebuild reads: it counts them once and
    leaves nothing for the worker."""
    person = builders.person(tenant)
    course = builders.make_course(tenant).course
    with transaction.atomic(), rollups.held(later_from=1):
        _record(tenant, [person], [course])
    assert PendingRollup.objects.count() == 1
    rollups.rebuild()
    assert not PendingRollup.objects.exists()
    assert rollups.apply_pending() == 0
    assert CourseFact.objects.filter(tenant=tenant).count() == 1
    assert reference.stored() == reference.expected()


@given(
    texts=st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=8),
    numbers=st.lists(
        st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=8, max_size=8
    ),
    flags=st.lists(st.one_of(st.none(), st.booleans()), min_size=8, max_size=8),
    days=st.lists(st.one_of(st.none(), st.dates()), min_size=8, max_size=8),
    moments=st.lists(
        st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC))), min_size=8, max_size=8
    ),
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_array_parameters_round_trip(texts, numbers, flags, days, moments) -> None:  # type: ignore[no-untyped-def]
    """Bulk upserts send each column as the text of an array literal (`rollups._bind`): every
    value comes back out of unnest as it went in, quotes, backslashes, braces and NULLs too."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("array parameters are PostgreSQL's")
    texts = [t.replace("\x00", "") if t is not None else None for t in texts]
    texts = (texts * 8)[:8]
    columns = [texts, numbers, flags, days, moments]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::boolean[], %s::date[], "
            "%s::timestamptz[])",
            rollups._bind(columns),
        )
        assert cursor.fetchall() == list(zip(*columns, strict=True))
