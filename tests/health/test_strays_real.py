"""On the real local libvirtd (marker `libvirt`): a `vmm-<uuid>` guest made behind the panel's
back for a deleted VM, and the running guest of a VM the panel shows failed, are powered off
and removed with their disks by the host watcher's next reconciliation.

The test has its own storage pool. The libvirtd is shared with other test runs: their
`vmm-*` guests keep their disks in their own pools, so the reconciliation only flags them
(that is the rule: a domain of no VM is removed only when its disks are in the panel's pool)."""

import os
import subprocess

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import DomainType, Host, HostStatus
from apps.hosts.services import refresh_host
from apps.virt.errors import NotFound
from apps.virt.types import DiskSpec, DomainSpec
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.health.conftest import running_watcher, wait_for

pytestmark = [pytest.mark.libvirt, pytest.mark.django_db(transaction=True)]

POOL = f"vmmtest-strays-{os.getpid()}"
POOL_PATH = f"/var/lib/vmmanager/test-pools/strays-{os.getpid()}"


def virsh(*args):
    return subprocess.run(
        ["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout


@pytest.fixture
def local_host(db):
    host = Host.objects.create(
        name="local",
        uri="qemu:///system",
        domain_type=DomainType.QEMU,
        storage_pool=POOL,
        storage_path=POOL_PATH,
        network="",
        status=HostStatus.UNREACHABLE,
    )
    refresh_host(host)
    assert host.status == HostStatus.ONLINE, host.status_reason
    made = []
    yield host, made
    driver = hypervisor_for(host)
    for name in made:  # whatever the test made and the reconciliation did not remove
        try:
            if driver.get_domain(name).state != "shutoff":
                driver.destroy(name)
            driver.undefine(name)
        except NotFound:
            pass
    for volume in driver.list_volumes(POOL):
        driver.delete_volume(POOL, volume.name)
    driver.delete_pool(POOL, remove_dir=True)


def guest_behind_the_panels_back(driver, uid):
    """What `virsh define` + `virsh start` of a deploy's leftovers look like: a domain
    `vmm-<uuid>` on a qcow2 disk in the panel's pool (it boots to nothing, which is enough)."""
    disk = driver.create_volume(POOL, f"vmm-{uid}-disk0.qcow2", 64 * 2**20)
    name = f"vmm-{uid}"
    driver.define(
        DomainSpec(
            name=name, uuid=str(uid), domain_type="qemu", vcpus=1, memory_mb=64, disks=(DiskSpec(path=disk.path),)
        )
    )
    driver.start(name)
    return name


def test_the_next_reconciliation_removes_the_guests_of_a_deleted_and_of_a_failed_vm(customer, local_host):
    host, made = local_host
    driver = hypervisor_for(host)
    deleted = VirtualMachine.objects.create(name="deleted", owner=customer, host=host, status=VmStatus.ACTIVE)
    deleted_uid = deleted.uuid
    deleted.delete()
    failed = VirtualMachine.objects.create(
        name="failed", owner=customer, host=host, status=VmStatus.FAILED, power_state=PowerState.MISSING
    )
    made += [guest_behind_the_panels_back(driver, deleted_uid), guest_behind_the_panels_back(driver, failed.uuid)]
    assert f"vmm-{deleted_uid}" in virsh("list", "--name") and f"vmm-{failed.uuid}" in virsh("list", "--name")

    with running_watcher():

        def gone():
            """both guests and their disks are gone from the host"""
            names = virsh("list", "--all", "--name") + virsh("vol-list", POOL)
            return str(deleted_uid) not in names and str(failed.uuid) not in names

        wait_for(gone, 30, interval=0.5)

    flagged = {entry["name"] for entry in Host.objects.get(pk=host.pk).strays}
    assert not {f"vmm-{deleted_uid}", f"vmm-{failed.uuid}"} & flagged
    assert VirtualMachine.objects.get(pk=failed.pk).status == VmStatus.FAILED
