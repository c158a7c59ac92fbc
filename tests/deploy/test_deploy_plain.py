"""Deploy the demo image configured offline by virt-customize, on the real local libvirtd,
and prove from outside the panel what the customer ordered."""

import re

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import JobStatus, StepStatus
from apps.vms.create import create_vm
from apps.vms.models import PowerState, VmStatus
from apps.vms.services import vm_operation
from tests.deploy.conftest import guest_files

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


def run(capture, fn, *args, **kwargs):
    with capture(execute=True):
        result = fn(*args, **kwargs)
    return result


def test_a_deployed_vm_runs_with_what_was_ordered(
    customer, local_host, plain_image, ssh_key, django_capture_on_commit_callbacks
):
    vm, job = run(
        django_capture_on_commit_callbacks,
        create_vm,
        customer,
        name="web-1",
        image=plain_image,
        vcpus=2,
        memory_mb=1024,
        disk_gb=4,
        hostname="web-1.example.test",
        password="Correct-Horse-7",
        ssh_keys=[ssh_key],
    )
    job.refresh_from_db()
    vm.refresh_from_db()
    steps = list(job.steps.all())

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [s.status for s in steps] == [StepStatus.SUCCEEDED] * 7
    assert vm.status == VmStatus.ACTIVE and vm.power_state == PowerState.RUNNING
    assert vm.current_job is None
    assert vm.ip_addresses and vm.ip_addresses[0].startswith("192.168.122.")
    driver = hypervisor_for(local_host)
    assert driver.get_domain(vm.domain_name).state == "running"
    disk = driver.volume_info(local_host.storage_pool, vm.disk_volume)
    assert disk.capacity_bytes == 4 * 2**30
    assert disk.backing_path and "image-" in disk.backing_path  # a linked clone of the host's copy

    stop = run(django_capture_on_commit_callbacks, vm_operation, vm, "vm_stop")
    stop.refresh_from_db()
    assert stop.status == JobStatus.SUCCEEDED
    assert stop.steps.get().detail == "the guest shut down"  # by ACPI, not forced

    seen = guest_files(disk.path, "/etc/hostname", "/etc/shadow", "/root/.ssh/authorized_keys")
    assert "web-1.example.test" in seen
    root_hash = re.search(r"^root:([^:]+):", seen, re.M).group(1)
    assert root_hash == job.params["root_password_hash"]
    assert ssh_key in seen
    blocks = int(re.search(r"^blocks: (\d+)", seen, re.M).group(1))
    bsize = int(re.search(r"^bsize: (\d+)", seen, re.M).group(1))
    assert blocks * bsize > 3.5 * 2**30  # the 2 GiB image's filesystem grew with the 4 GiB disk
