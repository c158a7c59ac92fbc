"""Take a snapshot (docs/snapshots.md): a new qcow2 overlay on the disk's current top, then the
domain writes to it. A running guest's filesystems are frozen through its agent for the
instant of the switch; when the agent does not answer the snapshot is taken unfrozen
(crash-consistent) and the step says so. Failing before the switch removes the overlay and
the snapshot's row; a host that cannot say leaves the row `failed` (delete it)."""

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import NotFound, VirtError
from apps.virt.types import INACTIVE_STATES, DomainState
from apps.vms import snapshot_work
from apps.vms.models import Snapshot, SnapshotConsistency, SnapshotState

STEPS = ["Take the snapshot", "Measure the snapshots"]

NOTES = {
    "frozen": "the guest's filesystems were frozen through its agent: consistent",
    "stopped": "the VM was stopped: consistent",
}


def run(ctx, vm, snapshot_id):
    snapshot = Snapshot.objects.get(pk=snapshot_id, vm=vm)
    driver = hypervisor_for(vm.host)
    pool = vm.host.storage_pool
    with ctx.step("Take the snapshot"):
        top = driver.disk_source(vm.domain_name)
        parent = snapshot_work.snapshot_by_overlay(vm, top.rsplit("/", 1)[-1])
        overlay = driver.clone_volume_linked(pool, snapshot.overlay_volume, top)
        state = driver.get_domain(vm.domain_name).state
        running = state in (DomainState.RUNNING, DomainState.BLOCKED)  # a paused guest's agent cannot freeze
        taken = driver.snapshot_disk(vm.domain_name, overlay.path, quiesce=running)
        reason = taken.reason if running or state in INACTIVE_STATES else "the VM is paused"
        Snapshot.objects.filter(pk=snapshot.pk).update(
            state=SnapshotState.READY, consistency=taken.how, parent=parent, size_bytes=overlay.allocation_bytes
        )
        ctx.note(
            NOTES.get(taken.how)
            or f"not frozen ({reason}): crash-consistent, as after a power cut (a guest agent freezes it)"
        )
        ctx.note(f"snapshot {snapshot.name}: the disk now writes to {overlay.name}")
    with ctx.step("Measure the snapshots"):
        snapshot_work.measure(ctx, vm)


def on_failure(ctx, vm):
    snapshot = Snapshot.objects.filter(pk=ctx.params["snapshot_id"], vm=vm, state=SnapshotState.CREATING).first()
    if snapshot is None:
        return  # taken: only the measuring failed
    driver = hypervisor_for(vm.host)
    try:
        if driver.disk_source(vm.domain_name).endswith("/" + snapshot.overlay_volume):
            Snapshot.objects.filter(pk=snapshot.pk).update(
                state=SnapshotState.READY,
                consistency=SnapshotConsistency.UNKNOWN,
                parent=_parent_below(driver, vm, snapshot),
            )
            return
        try:
            driver.delete_volume(vm.host.storage_pool, snapshot.overlay_volume)
        except NotFound:
            pass
        snapshot.delete()
    except VirtError:
        # Whether the domain writes to the overlay is unknown: keep the row, to be deleted.
        Snapshot.objects.filter(pk=snapshot.pk).update(state=SnapshotState.FAILED)


def _parent_below(driver, vm, snapshot):
    names = snapshot_work.chain(driver, vm, snapshot.overlay_volume)
    return snapshot_work.snapshot_by_overlay(vm, names[1]) if len(names) > 1 else None
