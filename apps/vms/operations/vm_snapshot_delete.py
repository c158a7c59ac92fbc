"""Delete a snapshot (docs/snapshots.md): merge its overlay (what was written after it) down
into its layer with QEMU's block commit, so the VM's data stays as it is, then remove the
overlay's file. A stopped VM is started paused for the merge and destroyed again (its guest
never runs). Whether the merge happened is read from the disk chain on the host, so a
failed job is settled either way and the delete can simply be asked again."""

import os

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import VirtError
from apps.vms import snapshot_work
from apps.vms.models import Snapshot, SnapshotState

STEPS = ["Merge the snapshot's layer", "Remove the layer's file", "Measure the snapshots"]


def run(ctx, vm, snapshot_id, was=SnapshotState.READY):
    snapshot = Snapshot.objects.select_related("parent", "vm").get(pk=snapshot_id, vm=vm)
    driver = hypervisor_for(vm.host)
    pool = vm.host.storage_pool
    with ctx.step("Merge the snapshot's layer"):
        below = snapshot_work.layer_below(driver, vm, snapshot)
        if below is not None:
            top = driver.volume_info(pool, snapshot.overlay_volume)
            base = driver.volume_info(pool, below)
            outcome = driver.commit_disk(vm.domain_name, top.path, base.path)
            if outcome == "merged" and driver.disk_source(vm.domain_name, inactive=True) == top.path:
                driver.set_disk_source(vm.domain_name, base.path)  # the config follows the merge
            ctx.note(f"{top.allocation_bytes / 2**20:.1f} MiB merged into {os.path.basename(base.path)} ({outcome})")
        else:
            ctx.note("its layer is no longer in the disk's chain: nothing to merge")
        snapshot_work.forget_merged(snapshot)
    with ctx.step("Remove the layer's file"):
        gone = snapshot_work.delete_volumes(driver, vm, [snapshot.overlay_volume])
        ctx.note(f"{snapshot.overlay_volume} removed" if gone else "already gone")
    with ctx.step("Measure the snapshots"):
        snapshot_work.measure(ctx, vm)


def on_failure(ctx, vm):
    snapshot = Snapshot.objects.select_related("parent", "vm").filter(pk=ctx.params["snapshot_id"], vm=vm).first()
    if snapshot is None:
        return  # merged and forgotten: only the file or the measuring failed (the VM's prefix: removed with it)
    driver = hypervisor_for(vm.host)
    try:
        if snapshot_work.layer_below(driver, vm, snapshot) is None:
            snapshot_work.forget_merged(snapshot)
            snapshot_work.delete_volumes(driver, vm, [snapshot.overlay_volume])
            return
    except VirtError:
        pass  # the host does not answer: the snapshot stays, to be deleted again
    was = ctx.params.get("was", SnapshotState.READY)
    Snapshot.objects.filter(pk=snapshot.pk, state=SnapshotState.DELETING).update(state=was)
