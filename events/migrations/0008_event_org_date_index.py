"""On PostgreSQL, an index on events (organization, date) (a no-op on SQLite).

The Facility Stock dashboard lists the latest uses of facility stock ("where used": the period's
usage lines, newest event first, 21 of them): with this index the plan walks the organisation's
events from the newest instead of sorting every event of the period. A RunPython of PostgreSQL
SQL (like inventory 0006 and 0008), so events/models.py is unchanged.
"""

from django.db import migrations

CREATE = "CREATE INDEX IF NOT EXISTS event_org_date ON events_event (organization_id, date);"
DROP = "DROP INDEX IF EXISTS event_org_date;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("events", "0007_move_billing_and_commissions_out")]

    operations = [migrations.RunPython(forwards, backwards)]
