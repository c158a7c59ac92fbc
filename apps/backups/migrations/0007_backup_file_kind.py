from django.db import migrations, models


def files_taken_before(apps, schema_editor):
    """Before directories could be taken out, whatever was taken out was a regular file."""
    BackupFile = apps.get_model("backups", "BackupFile")
    BackupFile.objects.filter(state__in=["ready", "expired"]).update(kind="file")


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0006_backup_files"),
    ]

    operations = [
        migrations.AddField(
            model_name="backupfile",
            name="kind",
            field=models.CharField(
                blank=True, choices=[("file", "File"), ("directory", "Folder (.tar.gz)")], max_length=9
            ),
        ),
        migrations.RunPython(files_taken_before, migrations.RunPython.noop),
    ]
