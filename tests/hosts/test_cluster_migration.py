"""The clusters data migration (apps/hosts/migrations/0007-0009) on a panel that already has
hosts: hosts sharing virtualization type, network and storage path go into one cluster, the
oldest host's group is "default", each other group "default-2", "default-3", ... in the order
of its oldest host, each cluster takes its hosts' setup; a panel without hosts gets an empty
"default". The hosts app is moved back and forth (taking back what depends on its 0007+, such as
vms 0010's `moving_to`); every test ends with the whole project migrated forward again."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

BEFORE = [("hosts", "0006_host_vnc_listen")]
AFTER = [("hosts", "0009_host_cluster_required")]


def migrate(targets):
    """Migrate to `targets` and return the historical apps of the state reached."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # the applied set changed
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def latest_schema_after(transactional_db):
    """Whatever happens in the test, every app ends migrated forward to its latest migration
    (the flush after a transactional test and the tests after it need all the tables and
    columns, also those of other apps' migrations that depend on the hosts app's)."""
    yield
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    if set(latest) - set(MigrationRecorder(connection).applied_migrations()):
        migrate(latest)


def test_existing_hosts_are_grouped_into_clusters_by_their_setup_the_oldest_hosts_group_default():
    Host = migrate(BEFORE).get_model("hosts", "Host")

    def host(name, domain_type="kvm", network="default", storage_path="/var/lib/vmmanager/pool"):
        uri = f"qemu+ssh://root@{name}.example.com/system"
        return Host.objects.create(
            name=name, uri=uri, domain_type=domain_type, network=network, storage_path=storage_path
        ).pk

    oldest = host("kvm-1")
    tcg = host("tcg-1", domain_type="qemu", storage_path="/srv/tcg")
    same = host("kvm-2")
    no_net = host("kvm-3", network="")
    tcg_2 = host("tcg-2", domain_type="qemu", storage_path="/srv/tcg")

    apps = migrate(AFTER)
    Host, Cluster = apps.get_model("hosts", "Host"), apps.get_model("hosts", "Cluster")
    clusters = {c.name: (c.domain_type, c.network, c.storage_path) for c in Cluster.objects.all()}
    assert clusters == {
        "default": ("kvm", "default", "/var/lib/vmmanager/pool"),
        "default-2": ("qemu", "default", "/srv/tcg"),
        "default-3": ("kvm", "", "/var/lib/vmmanager/pool"),
    }
    placed = dict(Host.objects.values_list("pk", "cluster__name"))
    assert placed == {oldest: "default", same: "default", tcg: "default-2", tcg_2: "default-2", no_net: "default-3"}
    # 0009: every host must now have a cluster.
    assert not Host._meta.get_field("cluster").null


def test_a_panel_without_hosts_gets_an_empty_default_cluster():
    assert not migrate(BEFORE).get_model("hosts", "Host").objects.exists()
    Cluster = migrate(AFTER).get_model("hosts", "Cluster")
    assert [(c.name, c.hosts.count()) for c in Cluster.objects.all()] == [("default", 0)]
