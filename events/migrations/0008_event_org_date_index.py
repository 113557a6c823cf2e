"""An index on events (organization, date): the Facility Stock dashboard lists the latest uses of
facility stock ("where used", newest event first), and with this index the plan walks the
organisation's events from the newest instead of sorting every event of the period."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("events", "0007_move_billing_and_commissions_out")]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["organization", "date"], name="event_org_date"),
        ),
    ]
