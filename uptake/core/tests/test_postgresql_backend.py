"""The PostgreSQL backend's timestamp loader (ADR 0021) gives exactly what Django's own loader
gives, for every value PostgreSQL can send, in UTC and in another session time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.postgres import types
from psycopg.pq import Format

from uptake.core.postgresql.base import FastTzLoader, loader_for

TIMESTAMPTZ_OID = types["timestamptz"].oid

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend only"),
]

VALUES = [
    "2026-11-24 06:39:03.123456+00",
    "2026-11-24 06:39:03+00",
    "2026-03-29 01:30:00.5+00",  # a DST change in Europe
    "2026-10-25 00:30:00.000001+00",
    "1969-12-31 23:59:59.999999+00",
    "0002-01-01 00:00:00+00",
    "9999-12-30 23:59:59.999999+00",
    "1900-01-01 12:00:00+00",  # a local-mean-time offset with seconds in old zones
]


def _load_all(loader: type, zone: str) -> list[object]:
    """Each value read through `loader` in a session whose TimeZone is `zone`."""
    out: list[object] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        raw = cursor.cursor
        raw.adapters.register_loader("timestamptz", loader)
        for text in VALUES:
            raw.execute("SELECT %s::timestamptz", [text])
            out.append(raw.fetchone()[0])
        cursor.execute("SELECT set_config('TimeZone', 'UTC', false)")
    return out


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam"])
@pytest.mark.parametrize("tz", [dt.UTC, None, ZoneInfo("Europe/Paris")])
def test_same_values_as_djangos_loader(zone: str, tz: dt.tzinfo | None) -> None:
    django_loader = type("DjangoLoader", (BaseTzLoader,), {"timezone": tz})
    theirs = _load_all(django_loader, zone)
    ours = _load_all(loader_for(tz), zone)
    assert ours == theirs
    assert [getattr(v, "tzinfo", None) for v in ours] == [
        getattr(v, "tzinfo", None) for v in theirs
    ]


def test_values_fromisoformat_cannot_read_fail_as_with_django() -> None:
    from psycopg import DataError

    for text in ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC"]:
        errors = []
        for loader in (type("L", (BaseTzLoader,), {"timezone": dt.UTC}), loader_for(dt.UTC)):
            with connection.cursor() as cursor:
                raw = cursor.cursor
                raw.adapters.register_loader("timestamptz", loader)
                with pytest.raises(DataError) as caught:
                    raw.execute("SELECT %s::timestamptz", [text])
                    raw.fetchone()
                errors.append(type(caught.value))
        assert errors[0] is errors[1]


def test_the_connection_reads_timestamps_through_it() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT '2026-11-24 06:39:03.5+00'::timestamptz")
        (value,) = cursor.fetchone()
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert value == dt.datetime(2026, 11, 24, 6, 39, 3, 500000, tzinfo=dt.UTC)
    assert value.tzinfo is dt.UTC
    assert loader is not None and issubclass(loader, FastTzLoader)
