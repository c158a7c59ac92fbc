import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.hosts.models import Host, HostStatus


def host_command(*args):
    out = io.StringIO()
    call_command("host", *args, stdout=out)
    return out.getvalue()


def test_adding_a_host_checks_it_and_reads_its_capacity(db):
    out = host_command(
        "add",
        "sim-1",
        "test:///default",
        "--domain-type",
        "qemu",
        "--pool",
        "default-pool",
        "--pool-path",
        "/default-pool",
    )

    host = Host.objects.get(name="sim-1")
    assert host.status == HostStatus.ONLINE and host.cpus > 0
    assert "[ok] 1. Connect to the hypervisor" in out
    assert "sim-1" in host_command("list")


def test_a_bad_uri_is_refused_naming_the_field(db):
    with pytest.raises(CommandError, match="uri"):
        host_command("add", "bad", "http://example.com/")
    assert not Host.objects.exists()


def test_an_unreachable_host_is_added_as_unreachable_with_the_reason(db):
    with pytest.raises(CommandError):
        host_command("add", "far", "qemu+tcp://127.0.0.1:1/system", "--domain-type", "qemu")
    host = Host.objects.get(name="far")
    assert host.status == HostStatus.UNREACHABLE and host.status_reason


def test_a_host_of_another_setup_gets_a_cluster_of_its_own_and_a_refused_one_leaves_none(db, test_host):
    """`host add` names no cluster: a host whose setup differs from the default cluster's
    (test_host's) is not refused for it, and one refused for its own input makes no cluster."""
    from apps.hosts.models import Cluster

    host_command(
        "add",
        "sim-2",
        "test:///default?sim-2",
        "--domain-type",
        "qemu",
        "--pool",
        "sim2-pool",
        "--pool-path",
        "/other-pool",
    )
    added = Host.objects.get(name="sim-2")
    assert added.cluster != test_host.cluster and added.cluster.name == "sim-2"
    assert added.cluster.storage_path == "/other-pool"
    with pytest.raises(CommandError, match="uri"):
        host_command("add", "bad", "http://example.com/", "--pool-path", "/third-pool")
    assert sorted(Cluster.objects.values_list("name", flat=True)) == sorted([test_host.cluster.name, "sim-2"])


def test_a_taken_name_is_refused_like_the_panel_refuses_it(db, test_host):
    """`host add` goes through the same service as the web UI and the API (new_host)."""
    with pytest.raises(CommandError, match="^name: Host with this Name already exists"):
        host_command("add", test_host.name, "test:///default?other", "--domain-type", "qemu")
    assert Host.objects.count() == 1
