"""bulk.insert_returning: the ids it returns are the rows' own, on every database and path;
bulk.insert_rows writes back what it was given."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uptake.core import bulk, clock
from uptake.enrollment.tests import builders
from uptake.notifications.models import Notification

pytestmark = pytest.mark.django_db

NAMES = ["tenant", "person", "kind", "title", "body", "url", "key", "created_at", "updated_at"]


def _rows(person, start: int, count: int) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    now = clock.now()
    return [
        (person.tenant_id, person.pk, "test", f"T{i}", "", "", f"k{i}", now, now)
        for i in range(start, start + count)
    ]


@pytest.mark.parametrize("count", [3, bulk.NUMBERED_ROWS + 1, 1234])
def test_insert_returning_gives_each_row_its_own_id(tenant, count) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(builders.person(tenant), 0, count)
    got = bulk.insert_returning(Notification, NAMES, rows, ["pk", "key"])
    assert len(got) == count
    stored = dict(Notification.objects.values_list("pk", "key"))
    assert dict(got) == stored
    assert [key for _pk, key in got] == [row[6] for row in rows]  # insertion order


def test_ids_stay_right_after_the_newest_rows_were_deleted(tenant) -> None:  # type: ignore[no-untyped-def]
    person = builders.person(tenant)
    first = bulk.insert_returning(Notification, NAMES, _rows(person, 0, 300), ["pk"])
    Notification.objects.filter(pk__in=[pk for (pk,) in first[-50:]]).delete()
    got = bulk.insert_returning(Notification, NAMES, _rows(person, 1000, 300), ["pk", "key"])
    assert len(got) == 300
    stored = dict(Notification.objects.values_list("pk", "key"))
    assert len(stored) == 550
    assert all(stored[pk] == key for pk, key in got)


def _cache_size() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return int(cursor.fetchone()[0])


def test_page_cache_is_raised_for_the_block_and_put_back(tenant) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    if connection.vendor != "sqlite":
        with bulk.page_cache():  # nothing to do elsewhere, and no error
            pass
        return
    before = _cache_size()
    with bulk.page_cache(64 * 1024):
        assert _cache_size() == -64 * 1024
        with bulk.page_cache(1024):  # a smaller inner block keeps the larger cache
            assert _cache_size() == -64 * 1024
        with bulk.page_cache(128 * 1024):
            assert _cache_size() == -128 * 1024
        assert _cache_size() == -64 * 1024
    assert _cache_size() == before
    with pytest.raises(ZeroDivisionError), bulk.page_cache(64 * 1024):
        _ = 1 / 0
    assert _cache_size() == before


@pytest.mark.parametrize("staged", [False, True])
def test_insert_rows_ignoring_conflicts_keeps_the_rows_there_were(  # type: ignore[no-untyped-def]
    tenant, monkeypatch, staged
) -> None:
    """Rows that break a unique constraint are skipped, the others written, whether sent one by
    one or (PostgreSQL, from COPY_IGNORING_CONFLICTS_FROM rows) through a staging table."""
    monkeypatch.setattr(bulk, "COPY_IGNORING_CONFLICTS_FROM", 1 if staged else 10**9)
    person = builders.person(tenant)
    bulk.insert_rows(Notification, NAMES, _rows(person, 0, 3))
    before = dict(Notification.objects.filter(tenant=tenant).values_list("key", "pk"))
    for _ in range(2):  # twice in one transaction: the staging table is made afresh
        bulk.insert_rows(Notification, NAMES, _rows(person, 0, 5), ignore_conflicts=True)
    after = dict(Notification.objects.filter(tenant=tenant).values_list("key", "pk"))
    assert sorted(after) == [f"k{i}" for i in range(5)]
    assert {k: after[k] for k in before} == before  # the rows there were are kept as they were


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    titles=st.lists(
        st.text(
            alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            max_size=30,
        ),
        min_size=1,
        max_size=30,
    )
)
def test_insert_columns_writes_one_row_per_position(tenant, titles) -> None:  # type: ignore[no-untyped-def]
    """Rows differing in a few columns, expanded by the database (unnest / json_each): text with
    quotes, backslashes, braces and any character comes back as given, with the constants."""
    person = builders.person(tenant)
    Notification.objects.filter(tenant=tenant).delete()
    now = clock.now()
    bulk.insert_columns(
        Notification,
        {
            "tenant_id": tenant.pk,
            "person_id": person.pk,
            "kind": "test",
            "body": "",
            "url": "",
            "created_at": now,
            "updated_at": now,
        },
        {"title": titles, "key": [f"k{i}" for i in range(len(titles))]},
    )
    stored = list(
        Notification.objects.filter(tenant=tenant)
        .order_by("key")
        .values_list("key", "title", "person_id", "created_at")
    )
    assert sorted(stored) == sorted(
        (f"k{i}", title, person.pk, now) for i, title in enumerate(titles)
    )


def test_insert_columns_fills_a_template_in_the_database(tenant) -> None:  # type: ignore[no-untyped-def]
    """A templated column: each value put in place of the `%s` by the database, `%%` a percent
    sign, the values themselves taken as they are (percent signs, quotes, braces)."""
    person = builders.person(tenant)
    now = clock.now()
    values = [7, 123456789, '50% {"x"}', "a\\b"]
    bulk.insert_columns(
        Notification,
        {
            "tenant_id": tenant.pk,
            "person_id": person.pk,
            "kind": "test",
            "title": "t",
            "url": "",
            "created_at": now,
            "updated_at": now,
        },
        {"body": values, "key": [f"k{i}" for i in range(len(values))]},
        templates={"body": '{"n": %s, "done": "100%%"}'},
    )
    stored = dict(Notification.objects.filter(tenant=tenant).values_list("key", "body"))
    assert stored == {f"k{i}": f'{{"n": {v}, "done": "100%"}}' for i, v in enumerate(values)}


_text = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    max_size=20,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(
            _text,
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
            st.one_of(st.none(), st.floats(allow_nan=False)),
            st.datetimes(
                min_value=dt.datetime(1900, 1, 1),
                max_value=dt.datetime(2200, 1, 1),
                timezones=st.timezones(),
            ),
            st.dictionaries(_text, st.one_of(_text, st.integers(), st.none()), max_size=3),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_rows_written_through_copy_read_back_as_given(tenant, rows) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL's bulk path writes COPY's text format itself (tabs, newlines and backslashes
    in text and JSON, NULLs, floats, moments in any zone): what is read back is what was given;
    the same through INSERT (PostgreSQL's few rows, SQLite's executemany)."""
    from uptake.analytics.models import LearningEvent

    person = builders.person(tenant)
    names = ["tenant", "person", "verb", "object_type", "object_id", "occurred_at", "value", "data"]
    given_rows = [
        (tenant.pk, person.pk, "launched", text, number, at, value, data)
        for text, number, value, at, data in rows
    ]
    for copy_from in (1, 10**9):  # COPY or INSERT on PostgreSQL
        LearningEvent.objects.filter(tenant=tenant).delete()
        with mock.patch.object(bulk, "COPY_FROM", copy_from):
            bulk.insert_rows(LearningEvent, names, given_rows)
        stored = [
            (text, number, value, at.astimezone(dt.UTC), data)
            for text, number, value, at, data in LearningEvent.objects.filter(tenant=tenant)
            .order_by("pk")
            .values_list("object_type", "object_id", "value", "occurred_at", "data")
        ]
        # Compared in UTC: Python never finds an ambiguous local time (a clock put back) equal
        # to a moment in another zone.
        assert stored == [
            (text, number, value, at.astimezone(dt.UTC), data)
            for _t, _p, _v, text, number, at, value, data in given_rows
        ]


@pytest.mark.parametrize("scan", [False, True])
def test_rows_where_reads_what_the_orm_reads(tenant, other_tenant, monkeypatch, scan) -> None:  # type: ignore[no-untyped-def]
    """The statement built once per shape gives the rows and values the ORM gives (dates,
    booleans, JSON, empty keys, converted as values_list converts them), for the tenant and
    condition asked, in chunks or in one scan."""
    from uptake.people.models import Person

    monkeypatch.setattr(bulk, "IN_CHUNK", 2)  # several chunks
    monkeypatch.setattr(bulk, "WHOLE_SCAN", 0 if scan else 10_000)
    boss = builders.person(tenant, hire_date=dt.date(2020, 2, 29), custom={"level": 3})
    people = [
        boss,
        builders.person(tenant, manager=boss, is_active=False, custom={"a": [1, "x"]}),
        builders.person(tenant, manager=boss, hire_date=None),
        builders.person(other_tenant),
    ]
    ids = [p.pk for p in people] + [10**9]
    columns = ("pk", "hire_date", "is_active", "custom", "manager_id", "time_zone")
    for where in ({"tenant_id": tenant.pk}, {"tenant_id": tenant.pk, "is_active": True}, {}):
        got = bulk.rows_where(Person, where, "pk", ids, *columns)
        expected = list(Person.objects.filter(pk__in=ids, **where).values_list(*columns))
        assert got and sorted(got) == sorted(expected), where
        assert [list(map(type, row)) for row in sorted(got)] == [
            list(map(type, row)) for row in sorted(expected)
        ]
    # `field` is the first of the values read, any column of the model.
    reports = bulk.rows_where(
        Person, {"tenant_id": tenant.pk}, "manager_id", [boss.pk], "manager_id", "pk"
    )
    assert sorted(reports) == sorted((boss.pk, p.pk) for p in people[1:3])
    assert bulk.rows_where(Person, {"tenant_id": tenant.pk}, "pk", [], "pk") == []
    with pytest.raises(ValueError, match="IS NULL"):
        bulk.rows_where(Person, {"manager_id": None}, "pk", ids, "pk")


def test_instances_where_loads_what_the_orm_loads(tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    from django.forms.models import model_to_dict

    from uptake.people.models import Person

    boss = builders.person(tenant, hire_date=dt.date(2021, 5, 1), custom={"level": 3})
    mine = [builders.person(tenant, manager=boss, is_active=flag) for flag in (True, False, True)]
    builders.person(other_tenant)
    got = bulk.instances_where(Person, {"tenant_id": tenant.pk}, "manager_id", [boss.pk])
    expected = list(Person.objects.filter(manager=boss).order_by("pk"))
    assert [p.pk for p in got] == [p.pk for p in mine]
    assert [model_to_dict(p) for p in got] == [model_to_dict(p) for p in expected]
    assert all(not p._state.adding for p in got)
    got[0].first_name = "Saved"
    got[0].save()  # a loaded instance, saved as an update
    assert Person.objects.get(pk=got[0].pk).first_name == "Saved"
    assert Person.objects.filter(tenant=tenant).count() == 4


def test_delete_where_deletes_the_rows_asked_only(tenant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    person = builders.person(tenant)
    monkeypatch.setattr(bulk, "IN_CHUNK", 2)
    rows = _rows(person, 0, 5)
    got = bulk.insert_returning(Notification, NAMES, rows, ["pk", "key"])
    ids = [pk for pk, _key in got]
    assert bulk.delete_where(Notification, {"tenant_id": tenant.pk, "key": "k1"}, "pk", ids) == 1
    assert bulk.delete_where(Notification, {"person_id": person.pk}, "pk", [*ids[2:], 10**9]) == 3
    assert list(Notification.objects.values_list("key", flat=True)) == ["k0"]
    assert bulk.delete_where(Notification, {}, "pk", []) == 0
