"""Every existing host into a cluster: hosts sharing virtualization type, network and storage
path go together; the group of the oldest host is "default", each other group its own
cluster ("default-2", "default-3", ...), so no cluster holds hosts that do not match.
Without hosts, an empty "default" cluster is made (its first host sets its setup)."""

from django.db import migrations

SETUP = ("domain_type", "network", "storage_path")


def forwards(apps, schema_editor):
    Host = apps.get_model("hosts", "Host")
    Cluster = apps.get_model("hosts", "Cluster")
    clusters = {}
    for host in Host.objects.filter(cluster__isnull=True).order_by("pk"):
        setup = tuple(getattr(host, field) for field in SETUP)
        if setup not in clusters:
            name = "default" if not clusters else f"default-{len(clusters) + 1}"
            while Cluster.objects.filter(name=name).exists():
                name += "-1"
            clusters[setup] = Cluster.objects.create(name=name, **dict(zip(SETUP, setup, strict=True)))
        host.cluster = clusters[setup]
        host.save(update_fields=["cluster"])
    if not Cluster.objects.exists():
        Cluster.objects.create(name="default")


class Migration(migrations.Migration):
    dependencies = [("hosts", "0007_clusters")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
