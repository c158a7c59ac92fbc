"""The hosts tell the truth to the panel: the reconciliation removes the panel's domains and
volumes left for VMs that failed, are being deleted or no longer exist, and flags on the
host page what it may not remove (libvirt's test driver)."""

import logging
import uuid

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.jobs.models import Job
from apps.virt.types import DiskSpec, DomainSpec
from apps.vms import host_sync
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from apps.vms.strays import reconcile_strays
from tests.api.conftest import client_for
from tests.health.conftest import make_vm

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(test_host):
    return hypervisor_for(test_host)


def leftovers(driver, host, uid):
    """What the host still has of the VM with uuid `uid`: domain and volume names."""
    domains = [name for name in driver.domain_states() if str(uid) in name]
    return domains + [v.name for v in driver.list_volumes(host.storage_pool) if str(uid) in v.name]


def put_on_host(driver, host, uid, *, running=True, volumes=("disk0.qcow2",), disk_path=None):
    """A domain `vmm-<uid>` as a deploy makes it: its first volume is its disk (or `disk_path`)."""
    paths = [driver.create_volume(host.storage_pool, f"vmm-{uid}-{suffix}", 2**20).path for suffix in volumes]
    disk = disk_path or (paths[0] if paths else None)
    name = f"vmm-{uid}"
    disks = (DiskSpec(path=disk),) if disk else ()
    driver.define(DomainSpec(name=name, uuid=str(uid), domain_type="qemu", vcpus=1, memory_mb=64, disks=disks))
    if running:
        driver.start(name)
    return name


def test_a_running_domain_of_a_failed_vm_is_powered_off_removed_with_its_volumes_and_reported(
    customer, test_host, driver, caplog
):
    failed = make_vm(customer, test_host, "failed")
    VirtualMachine.objects.filter(pk=failed.pk).update(status=VmStatus.FAILED)
    driver.create_volume(test_host.storage_pool, failed.disk_volume, 2**20)
    driver.create_volume(test_host.storage_pool, f"vmm-{failed.uuid}-seed.iso", 2**20)

    with caplog.at_level(logging.WARNING, logger="vmmanager.hosts"):
        result = reconcile_strays(test_host, driver)

    assert leftovers(driver, test_host, failed.uuid) == []
    assert failed.domain_name in result.removed
    assert f"{failed.domain_name} was running although VM failed (#{failed.pk}) is failed" in caplog.text
    assert VirtualMachine.objects.get(pk=failed.pk).status == VmStatus.FAILED  # the row is the user's to delete
    assert Host.objects.get(pk=test_host.pk).strays == []


def test_the_domain_and_volumes_of_a_deleted_vm_are_removed(customer, test_host, driver):
    deleted = uuid.uuid4()  # no row: deleted, or never the panel's
    put_on_host(driver, test_host, deleted, volumes=("disk0.qcow2", "seed.iso"))
    only_volume = uuid.uuid4()
    driver.create_volume(test_host.storage_pool, f"vmm-{only_volume}-staging.qcow2", 2**20)

    host_sync.reconcile(test_host, driver)

    assert leftovers(driver, test_host, deleted) == []
    assert leftovers(driver, test_host, only_volume) == []


def test_a_domain_of_no_vm_whose_disks_are_outside_the_panels_pool_is_flagged_not_removed(test_host, driver):
    # Another panel (or a test run) sharing the host keeps its guests' disks in its own pool.
    theirs = uuid.uuid4()
    put_on_host(driver, test_host, theirs, volumes=(), disk_path="/var/lib/other-panel/disk.qcow2")
    diskless = uuid.uuid4()
    put_on_host(driver, test_host, diskless, volumes=())

    result = reconcile_strays(test_host, driver)

    assert result.removed == []
    assert {f"vmm-{theirs}", f"vmm-{diskless}"} <= set(driver.domain_states())
    strays = {entry["name"]: entry["why"] for entry in Host.objects.get(pk=test_host.pk).strays}
    assert "not (all) in the panel's pool default-pool" in strays[f"vmm-{theirs}"]
    assert f"vmm-{diskless}" in strays


def test_a_vm_held_by_a_job_an_active_vm_and_other_tools_guests_are_left_alone(customer, test_host, driver):
    busy = make_vm(customer, test_host, "busy", current_job=Job.objects.create(kind="vm_reinstall", request_id="t"))
    VirtualMachine.objects.filter(pk=busy.pk).update(status=VmStatus.CREATING)
    active = make_vm(customer, test_host, "active")
    driver.define(DomainSpec(name="someone-elses", domain_type="qemu", vcpus=1, memory_mb=64))

    result = host_sync.reconcile(test_host, driver)

    states = driver.domain_states()
    assert {busy.domain_name, active.domain_name, "someone-elses", "test"} <= set(states)
    assert result.changed == {}
    assert Host.objects.get(pk=test_host.pk).strays == []


def test_what_is_not_safe_to_remove_is_flagged_on_the_host_page_with_the_action(
    customer, admin_user, test_host, driver, client
):
    elsewhere = Host.objects.create(name="elsewhere", uri="test:///elsewhere", status=HostStatus.ONLINE)
    moved = VirtualMachine.objects.create(
        name="moved", owner=customer, host=elsewhere, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING
    )
    put_on_host(driver, test_host, moved.uuid)
    orphaned = VirtualMachine.objects.create(
        name="orphaned", owner=customer, host=test_host, status=VmStatus.CREATING, power_state=PowerState.UNKNOWN
    )
    put_on_host(driver, test_host, orphaned.uuid, running=False, volumes=())
    driver.define(DomainSpec(name="vmm-handmade", domain_type="qemu", vcpus=1, memory_mb=64))

    result = reconcile_strays(test_host, driver)

    assert result.removed == []
    assert len(leftovers(driver, test_host, moved.uuid)) == 2
    assert leftovers(driver, test_host, orphaned.uuid) == [orphaned.domain_name]
    assert "vmm-handmade" in driver.domain_states()
    strays = {entry["name"]: entry for entry in Host.objects.get(pk=test_host.pk).strays}
    assert set(strays) == {moved.domain_name, moved.disk_volume, orphaned.domain_name, "vmm-handmade"}
    assert "on host elsewhere" in strays[moved.domain_name]["why"]
    assert strays[moved.domain_name]["state"] == "running"
    assert "no job is working on it" in strays[orphaned.domain_name]["why"]
    assert "the panel did not make it" in strays["vmm-handmade"]["why"]
    assert all(entry["action"] for entry in strays.values())

    client.force_login(admin_user)
    page = client.get(f"/hosts/{test_host.pk}/").content.decode()
    assert 'id="host-strays"' in page
    assert f'data-stray="{moved.domain_name}"' in page and 'data-stray="vmm-handmade"' in page
    # Resellers' billing and staff's own tools read the same list through the API.
    body = client_for(admin_user).get(f"/api/v1/hosts/{test_host.pk}/").json()
    assert {entry["name"]: entry for entry in body["strays"]} == strays

    driver.undefine("vmm-handmade")
    VirtualMachine.objects.filter(pk=orphaned.pk).update(status=VmStatus.FAILED)
    reconcile_strays(test_host, driver)
    strays = {entry["name"] for entry in Host.objects.get(pk=test_host.pk).strays}
    assert strays == {moved.domain_name, moved.disk_volume}  # fixed ones leave the list
    assert leftovers(driver, test_host, orphaned.uuid) == []
