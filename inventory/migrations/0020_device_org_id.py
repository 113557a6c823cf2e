"""The devices' organisation index becomes (organization, id): the API's keyset pages within the
organisation. The new index is made before the old one (organization alone) is dropped, so no
moment is without one."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0019_transfer_taken_back"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="device",
            index=models.Index(fields=["organization", "id"], name="device_org_id"),
        ),
        migrations.AlterField(
            model_name="device",
            name="organization",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                    to="accounts.organization"),
        ),
    ]
