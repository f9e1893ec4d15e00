"""Learning events: the tenant and person keys lose their single-column indexes (every read
filters on the tenant and the declared (tenant, ...) indexes cover them). Only the two indexes
are dropped: Django's own AlterField would copy the whole event table twice on SQLite."""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = (
    "analytics_learningevent_person_id_d3953124",
    "analytics_learningevent_tenant_id_4ade8e3f",
)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_personfact_assigned_week"),
        ("people", "0001_initial"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="learningevent",
                    name="person",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="people.person",
                    ),
                ),
                migrations.AlterField(
                    model_name="learningevent",
                    name="tenant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenancy.tenant",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in INDEXES],
                    reverse_sql=[
                        'CREATE INDEX "analytics_learningevent_person_id_d3953124" '
                        'ON "analytics_learningevent" ("person_id")',
                        'CREATE INDEX "analytics_learningevent_tenant_id_4ade8e3f" '
                        'ON "analytics_learningevent" ("tenant_id")',
                    ],
                )
            ],
        )
    ]
