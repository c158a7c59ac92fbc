"""Deploy the cloud-init flavour of the demo image with a NoCloud seed on the real local
libvirtd; reset the root password through the guest agent; grow the disk online (the root
filesystem grows, the guest keeps running); stopped, fewer vCPUs; reinstall (it boots with
them) and keep the address; then a backup of the running guest, snapshots on the
same guest (tests/deploy/snapshot_round_trip.py) and, while it is stopped there, the backup
restored (tests/deploy/backup_round_trip.py); the snapshots' part ends by deleting it."""

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import JobStatus
from apps.vms.changes import reinstall_vm, reset_password, resize_vm
from apps.vms.create import create_vm
from apps.vms.models import PowerState, VmStatus
from apps.vms.services import vm_operation
from tests.deploy.backup_round_trip import back_up_running, restore_while_stopped
from tests.deploy.snapshot_round_trip import snapshots_round_trip

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


def run(capture, fn, *args, **kwargs):
    with capture(execute=True):
        return fn(*args, **kwargs)


def finished(job):
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error)
    return job


def shadow_hash(driver, vm):
    code, output = driver.agent_exec(vm.domain_name, ["/bin/sh", "-c", "getent shadow root | cut -d: -f2"])
    assert code == 0, output
    return output.strip()


def root_size(driver, vm):
    code, output = driver.agent_exec(vm.domain_name, ["/bin/df", "--output=size", "-B1", "/"])
    assert code == 0, output
    return int(output.split()[-1])


def hostname_inside(driver, vm):
    code, output = driver.agent_exec(vm.domain_name, ["/bin/hostname"])
    assert code == 0, output
    return output.strip()


def test_cloud_init_deploy_password_reset_and_reinstall(
    customer, admin_user, local_host, cloudinit_image, ssh_key, django_capture_on_commit_callbacks, tmp_path, settings
):
    capture = django_capture_on_commit_callbacks
    vm, job = run(
        capture,
        create_vm,
        customer,
        name="ci-1",
        image=cloudinit_image,
        vcpus=2,
        memory_mb=1024,
        disk_gb=2,  # the image's own size: the resize below grows it, and the backups copy 3 GiB, not 4
        hostname="ci-1",
        password="Correct-Horse-7",
        ssh_keys=[ssh_key],
    )
    finished(job)
    vm.refresh_from_db()
    driver = hypervisor_for(local_host)
    assert vm.status == VmStatus.ACTIVE and vm.power_state == PowerState.RUNNING
    assert vm.ip_addresses
    first_address = vm.ip_addresses
    assert "seed" in job.steps.get(name="Configure the guest").detail

    # cloud-init applies the seed during boot, after the address is leased: wait for it.
    from tests.deploy.waiting import wait_until

    wait_until(lambda: hostname_inside(driver, vm) == "ci-1", 240)
    wait_until(lambda: shadow_hash(driver, vm) == job.params["root_password_hash"], 240)

    reset = finished(run(capture, reset_password, vm, "Another-Horse-8", actor=customer))
    assert shadow_hash(driver, vm) == reset.params["root_password_hash"]

    # Only the disk grows: online, the guest kept running (no boot), its root grown live.
    before = root_size(driver, vm)
    grown = finished(run(capture, resize_vm, vm, disk_gb=3, actor=customer))
    assert grown.steps.get(name="Stop the VM").detail == "not needed: only the disk grows, online"
    vm.refresh_from_db()
    assert (vm.disk_gb, vm.power_state) == (3, PowerState.RUNNING)
    assert root_size(driver, vm) > before + 0.8 * 2**30  # the root filesystem grew with the disk
    # Fewer vCPUs: a stopped VM is redefined and left stopped; the reinstall below boots it.
    finished(run(capture, vm_operation, vm, "vm_stop"))
    fewer = finished(run(capture, resize_vm, vm, vcpus=1, actor=customer))
    assert fewer.steps.get(name="Start the VM").detail == "left stopped, as it was"
    assert driver.get_domain(vm.domain_name).vcpus == 1

    again = finished(run(capture, reinstall_vm, vm, password="Third-Horse-9", actor=customer))
    vm.refresh_from_db()
    assert vm.status == VmStatus.ACTIVE and vm.ip_addresses == first_address  # same MAC, same lease
    assert (vm.vcpus, vm.disk_gb) == (1, 3) and driver.get_domain(vm.domain_name).vcpus == 1
    # ... which the new system asked for again: the job waited for its boot, not the old lease.
    up = again.steps.get(name="Wait for the guest to come up")
    assert (up.finished_at - up.started_at).total_seconds() > 5, up.detail
    wait_until(lambda: shadow_hash(driver, vm) == again.params["root_password_hash"], 240)

    vm.refresh_from_db()
    work = settings.VMM_WORK_DIR
    backup = back_up_running(capture, admin_user, customer, vm, tmp_path / "restic", work)
    snapshots_round_trip(capture, customer, vm, lambda: restore_while_stopped(capture, customer, vm, backup, work))
