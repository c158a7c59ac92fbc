"""The work of the snapshot jobs (apps.vms.operations.vm_snapshot_*), and what other jobs need
to know about a VM's disk chain (docs/snapshots.md).

The chain: `disk0` (the deploy's linked clone of the host's image copy), then one overlay
per snapshot, oldest first; the domain writes to the newest. A snapshot's *layer* is the
volume right below its overlay: its parent's overlay, or disk0. These functions read the
chain from the host (the volumes' backing files), so a database row that a failed job left
behind never decides where the data is."""

import os

from django.db import transaction

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import NotFound, VirtError
from apps.virt.types import INACTIVE_STATES
from apps.vms.models import Snapshot, SnapshotState


def power_off(ctx, driver, vm):
    """Power `vm` off before its disk is replaced (a revert, a restore: what it wrote since is
    discarded anyway), noting what was done. Returns whether it was running (to start it
    again at the end)."""
    was_running = driver.get_domain(vm.domain_name).state not in INACTIVE_STATES
    if was_running:
        driver.destroy(vm.domain_name)
        ctx.note("powered off")
    else:
        ctx.note("already stopped")
    return was_running


def top_volume(vm):
    """The volume the VM's disk writes to, as the database knows it: the newest snapshot's
    overlay, or disk0 (for jobs that redefine the domain, such as a resize)."""
    newest = (
        Snapshot.objects.filter(vm=vm, state__in=[SnapshotState.READY, SnapshotState.REVERTING, SnapshotState.DELETING])
        .order_by("-created_at", "-pk")
        .first()
    )
    return newest.overlay_volume if newest else vm.disk_volume


def layer_below(driver, vm, snapshot):
    """The volume frozen at `snapshot` (right below its overlay in the disk's chain on the
    host), or None when its overlay is no longer in the chain."""
    names = chain(driver, vm, driver.disk_source(vm.domain_name, inactive=True))
    if snapshot.overlay_volume not in names:
        return None
    below = names.index(snapshot.overlay_volume) + 1
    return names[below] if below < len(names) else None


def chain(driver, vm, top_path):
    """The VM's own volumes from `top_path` down (names, top first), read from their backing
    files; stops at the first file that is not the VM's (the image copy). The pool is read
    again first: libvirt keeps a volume's backing file as it last read it, and a merge
    rewrites the header of the overlay above the merged one."""
    driver.refresh_pool(vm.host.storage_pool)
    names, name = [], os.path.basename(top_path)
    prefix = f"vmm-{vm.uuid}-"
    while name and name.startswith(prefix) and name not in names:
        names.append(name)
        info = driver.volume_info(vm.host.storage_pool, name)
        name = os.path.basename(info.backing_path) if info.backing_path else None
    return names


def snapshot_by_overlay(vm, volume):
    return Snapshot.objects.filter(vm=vm, overlay_volume=volume).exclude(state=SnapshotState.CREATING).first()


def measure(ctx, vm):
    """Store the size of each of the VM's snapshots (its overlay's allocation); notes the total."""
    driver = hypervisor_for(vm.host)
    total = 0
    for snapshot in Snapshot.objects.filter(vm=vm).exclude(state=SnapshotState.CREATING):
        try:
            size = driver.volume_info(vm.host.storage_pool, snapshot.overlay_volume).allocation_bytes
        except NotFound:
            size = None
        Snapshot.objects.filter(pk=snapshot.pk).update(size_bytes=size)
        total += size or 0
    ctx.note(f"{Snapshot.objects.filter(vm=vm).count()} snapshot(s), {total / 2**20:.1f} MiB on the host")


def delete_volumes(driver, vm, names):
    """Delete the VM's volumes `names` (whatever is gone already is fine). Returns how many went."""
    gone = 0
    for name in names:
        try:
            driver.delete_volume(vm.host.storage_pool, name)
            gone += 1
        except NotFound:
            pass
    return gone


def adopt_revert(vm, snapshot, new_overlay):
    """The database side of a revert whose domain already writes to `new_overlay` on
    `snapshot`'s layer: the snapshot's overlay is the new one, the snapshots after it are
    gone. Returns the volumes no longer used (the old overlay, the later ones)."""
    with transaction.atomic():
        later = list(Snapshot.objects.filter(vm=vm, created_at__gte=snapshot.created_at).exclude(pk=snapshot.pk))
        later = [s for s in later if (s.created_at, s.pk) > (snapshot.created_at, snapshot.pk)]
        unused = [snapshot.overlay_volume, *(s.overlay_volume for s in later)]
        Snapshot.objects.filter(pk__in=[s.pk for s in later]).delete()
        Snapshot.objects.filter(pk=snapshot.pk).update(overlay_volume=new_overlay, state=SnapshotState.READY)
    return unused


def forget_merged(snapshot):
    """The database side of a merged snapshot: the next one lies on its parent now."""
    with transaction.atomic():
        Snapshot.objects.filter(parent=snapshot).update(parent=snapshot.parent_id)
        Snapshot.objects.filter(pk=snapshot.pk).delete()


# Scratch volumes of jobs on a VM's disk besides snapshots: a backup's copy, a restore's
# upload (apps/backups/operations); removed by their jobs, and with the VM.
SCRATCH_KINDS = ("snap", "backup", "restore")


def volumes_of(vm, driver=None):
    """Every snapshot overlay of `vm`: its rows' and, when `driver` can list the pool, any
    file with the VM's snapshot or scratch prefixes (SCRATCH_KINDS) a failed job left behind."""
    names = set(Snapshot.objects.filter(vm=vm).values_list("overlay_volume", flat=True))
    if driver is not None:
        prefixes = tuple(f"vmm-{vm.uuid}-{kind}-" for kind in SCRATCH_KINDS)
        try:
            names |= {v.name for v in driver.list_volumes(vm.host.storage_pool) if v.name.startswith(prefixes)}
        except VirtError:
            pass  # the rows' names are still removed
    return sorted(names)
