"""An index for All Inventory's serial search.

``serial__istartswith`` compiles to ``UPPER(serial::text) LIKE UPPER('X%')``. A plain index on
serial can't serve it; this expression index with ``text_pattern_ops`` can, under any collation.
It is not in Device.Meta.indexes because the operator class is PostgreSQL syntax.
"""

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS device_org_serial_upper
    ON inventory_device (organization_id, (UPPER(serial::text)) text_pattern_ops);
"""

DROP = "DROP INDEX IF EXISTS device_org_serial_upper;"


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREATE)


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0005_device_scale_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
