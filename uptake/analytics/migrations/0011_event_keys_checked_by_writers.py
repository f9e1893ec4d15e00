"""LearningEvent's tenant and person: no database constraint on PostgreSQL (ADR 0032).

On PostgreSQL the two deferred foreign keys checked every inserted event at commit, one lookup
and one row lock each: 0.8 s of every 50,000-event batch. The writers now check a batch's
people in one query. On SQLite the table keeps its constraints (a check there is a cheap
lookup, and dropping them would copy the whole event table); the model says none, so a later
rebuild of the table on SQLite drops them too.
"""

import django.db.models.deletion
from django.db import migrations, models

from uptake.core.migration_operations import AlterFieldOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0010_event_table_one_index"),
        ("people", "0001_initial"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        AlterFieldOnPostgreSQL(
            model_name="learningevent",
            name="person",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="people.person",
            ),
        ),
        AlterFieldOnPostgreSQL(
            model_name="learningevent",
            name="tenant",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tenancy.tenant",
            ),
        ),
    ]
