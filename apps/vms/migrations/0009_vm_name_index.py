# The VM list's default sort (by name) reads an index instead of sorting every visible VM.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vms", "0008_warm_pool"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="virtualmachine",
            index=models.Index(fields=["name"], name="vm_name_idx"),
        ),
    ]
