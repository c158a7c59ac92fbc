"""Change vCPUs, memory and disk size. When only the disk of a running VM grows, it grows
online (QEMU's block resize: the guest sees the new size at once) and the VM keeps running;
otherwise (or when the host cannot resize it online) the VM is stopped for it, redefined and
started again if it was running. Either way the root filesystem is then grown through the
guest agent (apps.vms.guest_grow: a filesystem the guest grew itself at boot is a success, a
busy tool is tried again). Disks only grow."""

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import InvalidState, NotFound, OperationFailed
from apps.virt.types import DomainState
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
        top = top_volume(vm)  # disk0, or the newest snapshot's overlay (docs/snapshots.md)
        disk = driver.volume_info(vm.host.storage_pool, top)
        grow = disk_gb * 2**30 > disk.capacity_bytes
        online = grow and (vcpus, memory_mb) == (vm.vcpus, vm.memory_mb) and _runs(driver, vm)
        if online:
            was_running = True
            ctx.note("not needed: only the disk grows, online")
        else:
            was_running = stop_if_running(ctx, vm)
    with ctx.step("Resize"):
        if online:
            try:
                driver.resize_disk_live(vm.domain_name, "vda", disk_gb * 2**30)
            except (InvalidState, OperationFailed) as e:
                ctx.note(f"the disk could not grow online ({e}): the VM is stopped for it")
                online = False
                stop_if_running(ctx, vm)
        if not online and grow:
            driver.resize_volume(vm.host.storage_pool, top, disk_gb * 2**30)
        vm.vcpus, vm.memory_mb, vm.disk_gb = vcpus, memory_mb, disk_gb
        if not online:
            driver.define(domain_spec(vm, disk.path, _seed_path(driver, vm)))
        VirtualMachine.objects.filter(pk=vm.pk).update(vcpus=vcpus, memory_mb=memory_mb, disk_gb=disk_gb)
        ctx.note(f"{vcpus} vCPU, {memory_mb} MiB, {disk_gb} GiB" + (", the disk grown online" if online else ""))
    with ctx.step("Start the VM"):
        if online:
            ctx.note("not needed: it kept running")
        elif was_running or grow:
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


def _runs(driver, vm):
    return driver.get_domain(vm.domain_name).state == DomainState.RUNNING


def _seed_path(driver, vm):
    try:
        return driver.volume_info(vm.host.storage_pool, seed_volume(vm)).path
    except NotFound:
        return None
