"""A managed network on the test host with small pools; no job ever runs."""

import pytest

from apps.hosts.models import Host
from apps.ipam.models import Ipv6Mode, Network, NetworkKind
from apps.ipam.pools import create_pool


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)


@pytest.fixture
def roomy_host(test_host):
    Host.objects.filter(pk=test_host.pk).update(cpus=64, memory_mb=512 * 1024, disk_bytes=100 * 2**40)
    test_host.refresh_from_db()
    return test_host


@pytest.fixture
def public_net(roomy_host):
    network = Network.objects.create(name="public", kind=NetworkKind.ISOLATED, libvirt_network="vmm-test-public")
    network.hosts.add(roomy_host)
    return network


@pytest.fixture
def v4_pool(public_net):
    return create_pool(
        network=public_net,
        name="v4",
        subnet="198.51.100.0/24",
        gateway="198.51.100.1",
        dns_servers=["198.51.100.53"],
        ranges=[["198.51.100.10", "198.51.100.14"]],
    )


@pytest.fixture
def v6_pool(public_net):
    return create_pool(network=public_net, name="v6", subnet="2001:db8::/56", ipv6_mode=Ipv6Mode.PREFIX64)
