"""Deploys to two real remote hosts (libvirt in containers, reached as qemu+tcp:// on
loopback): placement skips the full host, the image is copied to the host that lacks it,
verified and reused, the guest runs there, a deploy whose host goes down before it starts
moves to the other one, and deleting leaves nothing on either host."""

import pytest
from django.db import transaction

from apps.hosts.health import mark_unreachable
from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host
from apps.hosts.services import refresh_host
from apps.images.models import CopyStatus, ImageCopy
from apps.jobs.models import JobStatus, StepStatus
from apps.virt.errors import NotFound, Unreachable
from apps.vms import placement
from apps.vms.changes import delete_vm
from apps.vms.create import create_vm
from apps.vms.models import PowerState, VirtualMachine
from tests.multihost.test_watch_hosts import podman_env, start_libvirtd, stop_libvirtd  # noqa: F401 (fixture)

# Two deploys under TCG (virt-customize and a boot each, 1.5 minutes apiece on a busy
# machine), plus the host image build on a machine's first run.
pytestmark = [pytest.mark.libvirt, pytest.mark.multihost, pytest.mark.slow, pytest.mark.timeout(900)]

SIZE = {"vcpus": 1, "memory_mb": 512, "disk_gb": 2}


def finished(job):
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error, [(s.name, s.detail) for s in job.steps.all()])
    return job


def step_detail(job, name):
    return job.steps.get(name=name).detail


def deploy(capture, owner, image, name):
    with capture(execute=True):  # the job runs inline when the transaction "commits"
        vm, job = create_vm(owner, name=name, image=image, password="Correct-Horse-7", **SIZE)
    finished(job)
    vm.refresh_from_db()
    assert [s.status for s in job.steps.all()] == [StepStatus.SUCCEEDED] * 7
    assert vm.power_state == PowerState.RUNNING
    return vm, job


def test_deploys_go_to_the_host_with_room_and_copy_the_image_once(
    customer,
    remote_hosts,
    plain_image,
    settings,
    django_capture_on_commit_callbacks,
    podman_env,  # noqa: F811
):
    capture = django_capture_on_commit_callbacks
    settings.VMM_PLACEMENT = "fill"
    with transaction.atomic():
        preferred = placement.choose_host(**SIZE)
    full, other = (preferred, *[h for h in remote_hosts if h != preferred])
    # (a) The host placement would pick has no room left: the VM goes to the other one.
    Host.objects.filter(pk=full.pk).update(memory_mb=256)
    drivers = {host.pk: hypervisor_for(host) for host in remote_hosts}
    driver = drivers[other.pk]

    vm, job = deploy(capture, customer, plain_image, "remote-1")
    assert vm.host == other

    # (b) The image was copied to that host through libvirt, verified, and recorded.
    copy_step = step_detail(job, "Copy the image to the host")
    assert f"to {other.name}" in copy_step and "checksum verified" in copy_step, copy_step
    copy = ImageCopy.objects.get(image=plain_image, host=other)
    assert copy.status == CopyStatus.READY and copy.verified_at is not None
    volume = driver.volume_info(other.storage_pool, copy.volume)
    assert volume.path == copy.path and volume.path.startswith(other.storage_path + "/")
    assert driver.volume_sha256(other.storage_pool, copy.volume) == plain_image.checksum_sha256
    assert not ImageCopy.objects.filter(host=full).exists()
    assert not [v for v in drivers[full.pk].list_volumes(full.storage_pool) if v.name.startswith("image-")]

    # (c) The guest runs on that host, without a NIC, and its agent answers there.
    assert driver.get_domain(vm.domain_name).state == "running"
    assert "<interface" not in driver.domain_xml(vm.domain_name)
    assert "guest agent answers" in step_detail(job, "Wait for the guest to come up")
    assert driver.agent_ready(vm.domain_name)
    disk = driver.volume_info(other.storage_pool, vm.disk_volume)
    assert disk.backing_path == copy.path  # a linked clone of the host's own copy
    with pytest.raises(NotFound):
        drivers[full.pk].get_domain(vm.domain_name)

    # (e) One host down: a second order goes to the empty host (spread), whose libvirtd then
    # stops before the deploy starts; the watcher's failed call marks it lost, and the
    # deploy, not pinned, moves to the host that answers. An order made meanwhile is placed
    # there directly. The image copy already there is reused.
    Host.objects.filter(pk=full.pk).update(memory_mb=other.memory_mb)
    settings.VMM_PLACEMENT = "spread"
    settings.VMM_HOST_OUTAGE_WINDOW = 60
    try:
        with capture(execute=True):
            vm2, job2 = create_vm(customer, name="remote-2", image=plain_image, password="Correct-Horse-7", **SIZE)
            assert vm2.host == full
            stop_libvirtd(podman_env, full)
            with pytest.raises(Unreachable) as lost:
                hypervisor_for(full).host_info()
            mark_unreachable(full.pk, str(lost.value))  # as the watcher does on a failed call
            with transaction.atomic():
                assert placement.choose_host(**SIZE) == other
    finally:
        start_libvirtd(podman_env, full)
        refresh_host(full)
    finished(job2)
    vm2.refresh_from_db()
    assert vm2.host == other and vm2.power_state == PowerState.RUNNING
    assert f"{full.name} is unreachable: placed on {other.name} instead" in step_detail(job2, "Choose a host")
    assert f"is already on {other.name}" in step_detail(job2, "Copy the image to the host")
    assert ImageCopy.objects.filter(image=plain_image).count() == 1
    assert driver.get_domain(vm2.domain_name).state == "running"

    # (d) Deleting the VMs leaves no domain and no VM volume on either host.
    for doomed in (vm, vm2):
        with capture(execute=True):
            delete_job = delete_vm(doomed, actor=customer)
        finished(delete_job)
    assert not VirtualMachine.objects.exists()
    for host in remote_hosts:
        assert drivers[host.pk].list_domains() == [], host.name
        assert not [v.name for v in drivers[host.pk].list_volumes(host.storage_pool) if v.name.startswith("vmm-")]
