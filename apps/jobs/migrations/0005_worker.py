# A row per job worker with its heartbeat (apps/jobs/heartbeat.py), stamped by the database's
# clock, replaces the per-job heartbeat_at of 0004 (stamped by each worker's own clock).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_job_heartbeat_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="Worker",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=128, unique=True)),
                ("machine", models.CharField(max_length=120)),
                ("pid", models.PositiveIntegerField()),
                ("started_at", models.DateTimeField()),
                ("beat_at", models.DateTimeField(db_index=True)),
            ],
            options={
                "ordering": ["-beat_at"],
            },
        ),
        migrations.RemoveField(
            model_name="job",
            name="heartbeat_at",
        ),
    ]
