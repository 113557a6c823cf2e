"""The ledger refuses TRUNCATE (PostgreSQL), existing movements are HMAC-chained, and patient IDs
leave the ledger notes.

Chaining and clearing the notes write to rows the append-only trigger protects, so this migration (running as the table owner) disables that trigger for its own transaction and
enables it again before it commits. Notes of the form "Patient ID …" written by Submit For Billing
up to now are emptied *before* the rows are chained: the movement keeps its link to the event, and
the chain covers the notes as they are from now on. This is the one deliberate rewrite of history.
"""

from django.db import migrations

TRUNCATE = """
CREATE OR REPLACE FUNCTION inventory_devicemovement_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'inventory_devicemovement is append-only: TRUNCATE refused'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS inventory_devicemovement_no_truncate ON inventory_devicemovement;
CREATE TRIGGER inventory_devicemovement_no_truncate
    BEFORE TRUNCATE ON inventory_devicemovement
    FOR EACH STATEMENT EXECUTE FUNCTION inventory_devicemovement_no_truncate();
"""
DROP_TRUNCATE = """
DROP TRIGGER IF EXISTS inventory_devicemovement_no_truncate ON inventory_devicemovement;
DROP FUNCTION IF EXISTS inventory_devicemovement_no_truncate();
"""
ROW_TRIGGER = "inventory_devicemovement_append_only"


def forwards(apps, schema_editor):
    from inventory.ledger import GENESIS, chain_movements, ledger_key

    DeviceMovement = apps.get_model("inventory", "DeviceMovement")
    LedgerChainHead = apps.get_model("inventory", "LedgerChainHead")
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    schema_editor.execute(TRUNCATE)
    schema_editor.execute(f"ALTER TABLE inventory_devicemovement DISABLE TRIGGER {ROW_TRIGGER}")
    DeviceMovement.objects.filter(event__isnull=False, note__startswith="Patient ID ").update(
        note=""
    )
    key = ledger_key()
    org_ids = (
        DeviceMovement.objects.filter(chain_seq__isnull=True)
        .values_list("organization_id", flat=True).distinct().order_by("organization_id")
    )
    for org_id in list(org_ids):
        head, _ = LedgerChainHead.objects.get_or_create(
            organization_id=org_id, defaults={"last_seq": 0, "last_hash": GENESIS}
        )
        batch = []
        for movement in (
            DeviceMovement.objects.filter(organization_id=org_id, chain_seq__isnull=True)
            .order_by("id").iterator(chunk_size=2000)
        ):
            batch.append(movement)
            if len(batch) == 2000:
                head.last_seq, head.last_hash = chain_movements(
                    batch, head_seq=head.last_seq, head_hash=head.last_hash, key=key,
                    kit_from=getattr(head, "kit_content_from", None),
                )
                DeviceMovement.objects.bulk_update(batch, ["chain_seq", "chain_hash"])
                batch = []
        if batch:
            head.last_seq, head.last_hash = chain_movements(
                batch, head_seq=head.last_seq, head_hash=head.last_hash, key=key,
                kit_from=getattr(head, "kit_content_from", None),
            )
            DeviceMovement.objects.bulk_update(batch, ["chain_seq", "chain_hash"])
        head.save()
    schema_editor.execute(f"ALTER TABLE inventory_devicemovement ENABLE TRIGGER {ROW_TRIGGER}")


def backwards(apps, schema_editor):
    schema_editor.execute(DROP_TRUNCATE)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_ledger_chain")]

    operations = [migrations.RunPython(forwards, backwards)]
