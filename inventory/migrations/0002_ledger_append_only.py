"""The device movement ledger refuses UPDATE and DELETE (a PostgreSQL trigger)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION inventory_devicemovement_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'inventory_devicemovement is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS inventory_devicemovement_append_only ON inventory_devicemovement;
CREATE TRIGGER inventory_devicemovement_append_only
    BEFORE UPDATE OR DELETE ON inventory_devicemovement
    FOR EACH ROW EXECUTE FUNCTION inventory_devicemovement_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS inventory_devicemovement_append_only ON inventory_devicemovement;
DROP FUNCTION IF EXISTS inventory_devicemovement_append_only();
"""


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREATE)


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
