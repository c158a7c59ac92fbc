"""Revert to a snapshot (docs/snapshots.md). libvirt cannot revert an external snapshot, so
the panel does it: the VM is powered off (what it wrote since is discarded anyway), a new
empty overlay is made on the snapshot's layer, the domain is pointed at it, the overlays of
the snapshot's old top and of the snapshots taken after it are deleted, and the VM is
started again if it ran. The switch of the domain's disk is the one moment that decides:
failing before it leaves the disk as it was (the new overlay removed), failing after it
finishes the bookkeeping; either way the VM is left stopped."""

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.runner import OperationError
from apps.virt.errors import NotFound, VirtError
from apps.vms import snapshot_work
from apps.vms.models import Snapshot, SnapshotState

STEPS = ["Power off the VM", "Go back to the snapshot", "Start the VM", "Measure the snapshots"]


def new_overlay(ctx, vm):
    return f"vmm-{vm.uuid}-snap-{ctx.job.pk.hex[:12]}.qcow2"


def run(ctx, vm, snapshot_id):
    snapshot = Snapshot.objects.select_related("parent", "vm").get(pk=snapshot_id, vm=vm)
    driver = hypervisor_for(vm.host)
    pool = vm.host.storage_pool
    with ctx.step("Power off the VM"):
        was_running = snapshot_work.power_off(ctx, driver, vm)
    with ctx.step("Go back to the snapshot"):
        below = snapshot_work.layer_below(driver, vm, snapshot)
        if below is None:
            raise OperationError(f"the layer of snapshot {snapshot.name} is no longer on the VM's disk: delete it")
        layer = driver.volume_info(pool, below)
        capacity = max(vm.disk_gb * 2**30, layer.capacity_bytes)
        fresh = driver.clone_volume_linked(pool, new_overlay(ctx, vm), layer.path, capacity)
        driver.set_disk_source(vm.domain_name, fresh.path)
        unused = snapshot_work.adopt_revert(vm, snapshot, fresh.name)
        gone = snapshot_work.delete_volumes(driver, vm, unused)
        later = len(unused) - 1
        ctx.note(
            f"the disk is back at snapshot {snapshot.name} ({gone} layer(s) removed"
            + (f", {later} later snapshot(s) discarded)" if later else ")")
        )
    with ctx.step("Start the VM"):
        if was_running:
            driver.start(vm.domain_name)
            ctx.note("started")
        else:
            ctx.note("left stopped, as it was")
    with ctx.step("Measure the snapshots"):
        snapshot_work.measure(ctx, vm)


def on_failure(ctx, vm):
    snapshot = Snapshot.objects.select_related("parent", "vm").filter(pk=ctx.params["snapshot_id"], vm=vm).first()
    if snapshot is None:
        return
    driver = hypervisor_for(vm.host)
    name = new_overlay(ctx, vm)
    try:
        if snapshot.overlay_volume != name and driver.disk_source(vm.domain_name, inactive=True).endswith("/" + name):
            snapshot_work.delete_volumes(driver, vm, snapshot_work.adopt_revert(vm, snapshot, name))
        elif snapshot.overlay_volume != name:
            try:
                driver.delete_volume(vm.host.storage_pool, name)
            except NotFound:
                pass
    except VirtError:
        pass  # the host does not answer: the disk is as the database says, or the leftover is the VM's prefix
    Snapshot.objects.filter(pk=snapshot.pk, state=SnapshotState.REVERTING).update(state=SnapshotState.READY)
