"""Kit membership and the kit ledger join the HMAC chain (inventory/ledger.py, content version 2).

- Each chain head gets ``kit_content_from`` = its next sequence number: the movements chained so
  far keep the bytes they were hashed with (their kit columns stay outside), every later movement's
  content covers ``from_kit_id`` and ``kit_id``.
- ``KitMovement`` gets ``chain_seq`` / ``chain_hash`` and shares its organisation's chain. The kit
  movements written so far are chained now, in id order, after the chain's last movement (as
  migration 0004 chained the device movements it found), with the append-only trigger disabled
  for this transaction only: they are appended, nothing already chained is rewritten.
- The kit ledger refuses TRUNCATE, like the device ledger (0004).
- Editing kits and loans (issue 31): ``Kit.notes``; the movement kind ``kit_loan_moved`` (a loan's
  facility corrected, its units follow); the kit movement kinds ``edited`` and ``loan_changed``.
- A partial index of the units cases used out of loaned kits (the kit utilisation report at one
  million devices scanned the whole ledger for them).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0016_kits'),
    ]

    operations = [
        migrations.AddField(
            model_name='kitmovement',
            name='chain_hash',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='kitmovement',
            name='chain_seq',
            field=models.PositiveBigIntegerField(editable=False, help_text="Position in the organisation's HMAC chain.", null=True),
        ),
        migrations.AddField(
            model_name='ledgerchainhead',
            name='kit_content_from',
            field=models.PositiveBigIntegerField(default=1, help_text="The first sequence number whose content covers a movement's kit columns (inventory.ledger, content version 2; migration 0017 set it for older chains)."),
        ),
        migrations.AddConstraint(
            model_name='kitmovement',
            constraint=models.UniqueConstraint(fields=('organization', 'chain_seq'), name='kit_movement_chain_seq_unique'),
        ),
        migrations.AddIndex(
            model_name='devicemovement',
            index=models.Index(condition=models.Q(('from_status', 'loaned'), ('kind', 'sold_and_consumed')), fields=['from_kit', 'at'], name='movement_used_from_loaned_kit'),
        ),
        migrations.RemoveConstraint(
            model_name='devicemovement',
            name='movement_kind_valid',
        ),
        migrations.RemoveConstraint(
            model_name='kitmovement',
            name='kit_movement_kind_valid',
        ),
        migrations.AddField(
            model_name='kit',
            name='notes',
            field=models.TextField(blank=True, help_text='Anything the next person to pack or loan it should know.'),
        ),
        migrations.AlterField(
            model_name='devicemovement',
            name='kind',
            field=models.CharField(choices=[('received', 'Received'), ('transferred', 'Transferred'), ('sold_to_facility', 'Sold as facility stock (stocking order)'), ('sold_and_consumed', 'Sold and used in a case'), ('facility_stock_consumed', 'Facility stock used in a case'), ('adjustment_removed', 'Removed by stock adjustment'), ('adjustment_restored', 'Restored by stock adjustment'), ('adjustment_moved', 'Moved to another facility by stock adjustment'), ('returned', 'Returned by the facility to the rep (return)'), ('returned_for_destruction', 'Returned for destruction (return)'), ('kit_packed', 'Packed into a kit'), ('kit_unpacked', 'Taken out of a kit'), ('kit_transferred', 'Transferred with its kit'), ('kit_loaned', 'Loaned with its kit'), ('kit_checked_in', 'Checked in with its kit'), ('kit_loan_moved', 'Moved with its loaned kit to another facility')], max_length=32),
        ),
        migrations.AlterField(
            model_name='kitmovement',
            name='kind',
            field=models.CharField(choices=[('built', 'Built'), ('packed', 'Units packed'), ('unpacked', 'Unit taken out'), ('transfer_sent', 'Transfer sent'), ('transferred', 'Transferred'), ('transfer_declined', 'Transfer declined'), ('loaned', 'Loaned'), ('loan_extended', 'Loan extended'), ('checked_in', 'Checked in'), ('edited', 'Details changed'), ('loan_changed', 'Loan details changed')], max_length=20),
        ),
        migrations.AddConstraint(
            model_name='devicemovement',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['received', 'transferred', 'sold_to_facility', 'sold_and_consumed', 'facility_stock_consumed', 'adjustment_removed', 'adjustment_restored', 'adjustment_moved', 'returned', 'returned_for_destruction', 'kit_packed', 'kit_unpacked', 'kit_transferred', 'kit_loaned', 'kit_checked_in', 'kit_loan_moved'])), name='movement_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='kitmovement',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['built', 'packed', 'unpacked', 'transfer_sent', 'transferred', 'transfer_declined', 'loaned', 'loan_extended', 'checked_in', 'edited', 'loan_changed'])), name='kit_movement_kind_valid'),
        ),
    ]


TRUNCATE = """
CREATE OR REPLACE FUNCTION inventory_kitmovement_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'inventory_kitmovement is append-only: TRUNCATE refused'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS inventory_kitmovement_no_truncate ON inventory_kitmovement;
CREATE TRIGGER inventory_kitmovement_no_truncate
    BEFORE TRUNCATE ON inventory_kitmovement
    FOR EACH STATEMENT EXECUTE FUNCTION inventory_kitmovement_no_truncate();
"""
DROP_TRUNCATE = """
DROP TRIGGER IF EXISTS inventory_kitmovement_no_truncate ON inventory_kitmovement;
DROP FUNCTION IF EXISTS inventory_kitmovement_no_truncate();
"""
ROW_TRIGGER = "inventory_kitmovement_append_only"


def forwards(apps, schema_editor):
    from inventory.ledger import GENESIS, chain_kit_movements, key_id, ledger_key

    KitMovement = apps.get_model("inventory", "KitMovement")
    LedgerChainHead = apps.get_model("inventory", "LedgerChainHead")
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for head in LedgerChainHead.objects.all():
        head.kit_content_from = head.last_seq + 1
        head.save(update_fields=["kit_content_from"])
    schema_editor.execute(TRUNCATE)
    org_ids = list(
        KitMovement.objects.filter(chain_seq__isnull=True)
        .values_list("organization_id", flat=True).distinct().order_by("organization_id")
    )
    if not org_ids:
        return
    key = ledger_key()
    schema_editor.execute(f"ALTER TABLE inventory_kitmovement DISABLE TRIGGER {ROW_TRIGGER}")
    for org_id in org_ids:
        head, _ = LedgerChainHead.objects.get_or_create(
            organization_id=org_id, defaults={"last_seq": 0, "last_hash": GENESIS}
        )
        if head.key_id and head.key_id != key_id(key):
            raise RuntimeError(
                f"Organisation {org_id}'s ledger is signed with key {head.key_id}, this server's "
                f"ledger key is {key_id(key)}: migrate with the key that signed it.")
        head.key_id = key_id(key)
        movements = list(
            KitMovement.objects.filter(organization_id=org_id, chain_seq__isnull=True)
            .order_by("id")
        )
        head.last_seq, head.last_hash = chain_kit_movements(
            movements, head_seq=head.last_seq, head_hash=head.last_hash, key=key
        )
        KitMovement.objects.bulk_update(movements, ["chain_seq", "chain_hash"], batch_size=2000)
        head.save()
    schema_editor.execute(f"ALTER TABLE inventory_kitmovement ENABLE TRIGGER {ROW_TRIGGER}")


def backwards(apps, schema_editor):
    schema_editor.execute(DROP_TRUNCATE)


Migration.operations.append(migrations.RunPython(forwards, backwards))
