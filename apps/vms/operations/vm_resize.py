"""Change vCPUs, memory and disk size. The VM is stopped for it (a running disk cannot
grow: QEMU holds its write lock), redefined, started again if it was running, and its root
filesystem grown through the guest agent (apps.vms.guest_grow: a filesystem the guest grew
itself at boot is a success, a busy tool is tried again). Disks only grow."""

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import NotFound
from apps.vms.deploy.power import start_and_wait_for_agent, stop_if_running
from apps.vms.deploy.steps import domain_spec, seed_volume
from apps.vms.guest_grow import grow_root
from apps.vms.models import VirtualMachine
from apps.vms.snapshot_work import top_volume

STEPS = ["Stop the VM", "Resize", "Start the VM", "Grow the root filesystem"]


def run(ctx, vm, vcpus=None, memory_mb=None, disk_gb=None):
    driver = hypervisor_for(vm.host)
    vcpus, memory_mb, disk_gb = vcpus or vm.vcpus, memory_mb or vm.memory_mb, disk_gb or vm.disk_gb
    with ctx.step("Stop the VM"):
        was_running = stop_if_running(ctx, vm)
    with ctx.step("Resize"):
        top = top_volume(vm)  # disk0, or the newest snapshot's overlay (docs/snapshots.md)
        disk = driver.volume_info(vm.host.storage_pool, top)
        if disk_gb * 2**30 > disk.capacity_bytes:
            driver.resize_volume(vm.host.storage_pool, top, disk_gb * 2**30)
        vm.vcpus, vm.memory_mb, vm.disk_gb = vcpus, memory_mb, disk_gb
        spec = domain_spec(vm, disk.path, _seed_path(driver, vm))
        driver.define(spec)
        VirtualMachine.objects.filter(pk=vm.pk).update(vcpus=vcpus, memory_mb=memory_mb, disk_gb=disk_gb)
        ctx.note(f"{vcpus} vCPU, {memory_mb} MiB, {disk_gb} GiB")
    grow = disk_gb * 2**30 > disk.capacity_bytes
    with ctx.step("Start the VM"):
        if was_running or grow:
            start_and_wait_for_agent(ctx, vm)
        else:
            ctx.note("left stopped, as it was")
    with ctx.step("Grow the root filesystem"):
        if not grow:
            ctx.note("the disk did not change")
            return
        # Judged by the sizes, not the tools' exit codes: the guest may grow itself at boot.
        grow_root(driver, vm.domain_name, ctx.note)
        if not was_running:
            driver.stop(vm.domain_name, timeout=60)


def _seed_path(driver, vm):
    try:
        return driver.volume_info(vm.host.storage_pool, seed_volume(vm)).path
    except NotFound:
        return None
