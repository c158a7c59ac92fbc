"""Fixtures of the statistics tests: simulated hosts (test-driver node files) with VMs
whose domains are on them, and a collector with a short interval."""

import uuid

import pytest

from apps.hosts.models import DomainType, Host, HostStatus
from apps.vms.models import VirtualMachine, VmStatus
from tests.stats.nodefiles import write_node


@pytest.fixture
def node_host(tmp_path, customer):
    """node_host(name, vms=3, foreign=()) -> (Host, [VMs]): an online host on its own node
    file, holding one running domain per VM (plus domains named in ``foreign``)."""

    def make(name, vms=3, foreign=(), status=HostStatus.ONLINE):
        machines = [uuid.uuid4() for _ in range(vms)]
        uri = write_node(tmp_path / f"{name}.xml", [f"vmm-{u}" for u in machines] + list(foreign))
        host = Host.objects.create(name=name, uri=uri, domain_type=DomainType.QEMU, status=status)
        rows = [
            VirtualMachine.objects.create(
                uuid=u, name=f"{name}-vm-{i}", owner=customer, host=host, status=VmStatus.ACTIVE, vcpus=1
            )
            for i, u in enumerate(machines)
        ]
        return host, rows

    return make
