"""(id) INCLUDE (product_id) on devices.

The reports join a period's event lines to their devices' products; with product_id in this
index the join is an index-only lookup per line instead of a scan of every device. INCLUDE is
PostgreSQL syntax, so the index is not in Device.Meta.indexes.
"""

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS device_id_incl_product ON inventory_device (id) INCLUDE (product_id);
"""

DROP = "DROP INDEX IF EXISTS device_id_incl_product;"


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREATE)


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0007_device_serial_sort_index")]

    operations = [migrations.RunPython(forwards, backwards)]
