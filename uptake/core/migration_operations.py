"""Migration operations shared by the apps' migrations."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class AlterFieldOnPostgreSQL(migrations.AlterField):
    """AlterField whose schema change runs on PostgreSQL only (the state changes everywhere):
    for a foreign key that PostgreSQL no longer checks (ADR 0032, 0036) while SQLite keeps its
    cheap in-process check (dropping it there would copy the whole table; a later rebuild of
    the table on SQLite follows the model and drops it)."""

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)
