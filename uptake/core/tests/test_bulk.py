"""bulk.insert_returning: the ids it returns are the rows' own, on every database and path."""

from __future__ import annotations

import pytest

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
