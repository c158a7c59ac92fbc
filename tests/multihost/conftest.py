"""Two real libvirt hosts in containers on loopback (scripts/testhosts.sh), registered as
remote hosts. The containers start once per session and are removed at its end, whatever
happened; each test's domains and volumes are removed after it."""

import subprocess
from pathlib import Path

import pytest

from apps.hosts.models import DomainType, Host, HostStatus
from apps.hosts.services import refresh_host
from apps.virt import connection
from tests.deploy.conftest import blank_image, image_store, plain_image, remove_everything_of  # noqa: F401 (fixtures)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "testhosts.sh"


def testhosts(*args, timeout):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def container_hosts():
    """[(name, uri), ...] of two running test hosts."""
    try:
        # Fresh hosts: nothing left inside from a session that was killed (about 1 s).
        testhosts("down", timeout=300)
        # The first run on a machine builds the host image (about 1.5 minutes); later ones take a second.
        up = testhosts("up", "2", timeout=900)
        assert up.returncode == 0, f"scripts/testhosts.sh up 2 failed:\n{up.stderr}"
        yield [tuple(line.split()) for line in up.stdout.splitlines()]
    finally:
        connection.close_all()  # before the daemons go: no "connection lost" callbacks
        down = testhosts("down", timeout=300)
        assert down.returncode == 0, f"scripts/testhosts.sh down failed:\n{down.stderr}"


@pytest.fixture
def remote_hosts(db, container_hosts):
    """The test hosts as the panel's Host rows, refreshed (online, capacity read)."""
    hosts = []
    for name, uri in container_hosts:
        host = Host.objects.create(
            name=name,
            uri=uri,
            domain_type=DomainType.QEMU,
            storage_pool="vmmanager",
            storage_path="/var/lib/vmmanager/pool",
            network="",  # the hosts have no libvirt network: guests get no NIC
            status=HostStatus.UNREACHABLE,
        )
        refresh_host(host)
        assert host.status == HostStatus.ONLINE, (name, host.status_reason)
        hosts.append(host)
    yield hosts
    leftovers = {host.name: remove_everything_of(host) for host in hosts}
    assert not any(leftovers.values()), f"left on the hosts: {leftovers}"
