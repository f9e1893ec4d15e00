"""See the package docstring (ADR 0021)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db.backends.postgresql import base
from psycopg.types.datetime import TimestamptzLoader

_iso = dt.datetime.fromisoformat


class FastTzLoader(TimestamptzLoader):
    """Django's `BaseTzLoader` semantics (the session's wall-clock time with `timezone` as its
    zone; None: naive) with ISO text parsed in C. Anything `fromisoformat` rejects (infinity,
    BC dates, a DateStyle other than ISO) goes through psycopg's loader, as Django's does."""

    timezone: dt.tzinfo | None = None

    def load(self, data: Any) -> dt.datetime:
        tz = self.timezone
        try:
            value = _iso(bytes(data).decode())
        except ValueError:
            return super().load(data).replace(tzinfo=tz)
        # The usual case (a UTC session, aware datetimes): the parsed zone is already UTC.
        return value if value.tzinfo is tz else value.replace(tzinfo=tz)


@functools.cache
def loader_for(tz: dt.tzinfo | None) -> type[FastTzLoader]:
    return type("FastTzLoaderFor", (FastTzLoader,), {"timezone": tz})


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: Any) -> Any:
        connection = super().get_new_connection(conn_params)
        # On this connection's own adapters map (not Django's shared template). Django's
        # `create_cursor` compares the loader's `timezone` with the connection's and only
        # registers its own per cursor when they differ (never, once configured).
        connection.adapters.register_loader("timestamptz", loader_for(self.timezone))
        return connection
