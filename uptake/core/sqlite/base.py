"""Django's SQLite backend with integer primary keys that are plain rowid aliases.

Django declares every auto primary key on SQLite as `INTEGER PRIMARY KEY AUTOINCREMENT`.
AUTOINCREMENT only adds a guarantee that a deleted row's id is never handed out again (SQLite
otherwise takes max(rowid) + 1), and it costs a read and a write of `sqlite_sequence` for
every row inserted: about half the CPU of a bulk insert into a table with two indexes
(ADR 0023). No Uptake table relies on the guarantee (ids are not cursors over rows that get
deleted), so tables created through this backend leave it out; tables created before keep it
and work as before. PostgreSQL keeps its identity sequences, which never reuse ids.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base, operations

from uptake.core.sqlite import checkpoint


class DatabaseOperations(operations.DatabaseOperations):
    def sequence_reset_by_name_sql(self, style: Any, sequences: list[dict[str, Any]]) -> list[str]:
        # Without AUTOINCREMENT there may be no sqlite_sequence table at all; an emptied
        # table starts again at 1 by itself.
        return []


class DatabaseWrapper(base.DatabaseWrapper):
    data_types_suffix: dict[str, str] = {}
    ops_class = DatabaseOperations

    def get_new_connection(self, conn_params: Any) -> Any:
        connection = super().get_new_connection(conn_params)
        # Log checkpoints in a thread of their own, not inside writers' commits (ADR 0020).
        checkpoint.ensure(str(conn_params.get("database", "")))
        return connection
