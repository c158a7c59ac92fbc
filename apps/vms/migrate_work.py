"""Migration's work (docs/migration.md), shared by the `vm_migrate` job and the evacuation
of a host (`host_evacuate`): move a VM from its host (the source) to `target`, keeping its
linked clone a linked clone: cold for a stopped VM, live for a running one.

    move(ctx, vm, target, step)   # step(name): a context manager (ctx.step, or a quiet one)
    undo(ctx, vm, target)         # after a failure: the VM stays on the source, the target
                                  # loses what the move made there (or owes its removal)

The steps:
1. Check the target: still online and not in maintenance, in the VM's cluster, with room
   and the VM's network;
   the VM's domain shut off (cold) or running (live: the same virtualization type and storage
   path on both hosts) on the source; a copy of the VM left on the target by an earlier
   failed attempt is removed first.
2. Copy the image to the target: the image's verified copy there (apps.images.hostcopy),
   made once and shared with every VM of that image on the host.
3. Copy the disk to the target: the VM's own layer (its qcow2 file, as the host stores it)
   read from the source through a libvirt stream, pointed at the target's copy of the image
   (the copies are byte-identical, checked by checksum), sent to the target; a full-copy
   disk is sent whole. A VM with snapshots has more layers (docs/snapshots.md, "The chain",
   read from the host): each goes the same way, bottom first, pointed at the one sent
   before it. The cloud-init seed goes along. Live: every layer but the top (frozen under
   the running guest) is sent so, and an empty top layer is made there on the last one sent
   (or on the target's copy of the image); the guest's top layer is copied by the migration
   itself.
4. Put the VM on the target: cold, the same domain defined there (name, UUID, MAC, addresses
   and their filter, VNC password; a bandwidth limit on its interface is kept), stopped.
   Live, libvirt's migration without shared storage (NON_SHARED_INC: only the top layer and
   the memory travel) moves the running guest, with its progress noted every few seconds;
   a migration that fails or times out leaves it running on the source.
5. Switch the VM to the target: its row's host, in one UPDATE (an audit entry).
6. Remove the VM from the source: domain and volumes; what the source cannot remove now is
   owed to it (apps.vms.cleanup.owe), done when it answers. The VM is already moved.
A failure before step 5 leaves the VM on the source as it was."""

import logging
import xml.etree.ElementTree as ET

from django.conf import settings
from django.db import transaction

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.images.hostcopy import ensure_on_host
from apps.images.models import CopyStatus, ImageCopy
from apps.jobs.runner import OperationError
from apps.virt import tools
from apps.virt.domain_xml import DUAL_STACK_FILTER
from apps.virt.errors import NotFound, VirtError
from apps.virt.types import INACTIVE_STATES, DomainState
from apps.vms import cleanup, placement
from apps.vms.deploy.steps import domain_spec, remove_work_dir, seed_volume, work_dir
from apps.vms.migration import cluster_problem, network_problem
from apps.vms.models import VirtualMachine
from apps.vms.snapshot_work import chain

logger = logging.getLogger("vmmanager.vms")
NOTE_EVERY = 5  # seconds between progress lines of a live migration

STEPS = [
    "Check the target",
    "Copy the image to the target",
    "Copy the disk to the target",
    "Put the VM on the target",
    "Switch the VM to the target",
    "Remove the VM from the source",
]


def move(ctx, vm, target, step):
    """Move `vm` to `target`, cold or live as its domain is now (module docstring). Raises on
    failure before the switch (the caller runs `undo`); never after it."""
    vm = VirtualMachine.objects.select_related("host", "image").get(pk=vm.pk)
    source = vm.host
    src, dst = hypervisor_for(source), hypervisor_for(target)
    with step("Check the target"):
        live = _check(ctx, vm, source, target, src, dst)
    with step("Copy the image to the target"):
        copy = ensure_on_host(vm.image, target, note=ctx.note)
    try:
        with step("Copy the disk to the target"):
            if live:
                _prepare_disk(ctx, vm, source, target, src, dst, copy)
            else:
                disk_path, seed_path = _copy_disk(ctx, vm, source, target, src, dst, copy)
        with step("Put the VM on the target"):
            if live:
                _migrate_live(ctx, vm, target, src)
            else:
                _define(ctx, vm, target, src, dst, disk_path, seed_path)
    finally:
        remove_work_dir(ctx)
    with step("Switch the VM to the target"):
        with transaction.atomic():
            moved = VirtualMachine.objects.select_for_update().get(pk=vm.pk)
            moved.host, moved.moving_to = target, None
            moved.save(update_fields=["host", "moving_to", "updated_at"])  # save(): the audit log has it
        ctx.note(f"{vm.name} now lives on {target.name}")
    with step("Remove the VM from the source"):
        try:
            state = cleanup.remove_domain_and_volumes(src, source.storage_pool, vm.domain_name, cleanup.vm_volumes(vm))
            ctx.note(f"domain and volumes removed from {source.name}" + ("" if state else " (no domain was left)"))
        except VirtError as exc:
            debt = cleanup.owe(ctx, vm, source, str(exc))
            ctx.note(f"{source.name} did not remove its copy ({exc}): clean-up owed (#{debt.pk}), done when it answers")


def _check(ctx, vm, source, target, src, dst):
    target = Host.objects.get(pk=target.pk)
    if target.status != HostStatus.ONLINE:
        state = "in maintenance" if target.status == HostStatus.MAINTENANCE else target.status
        raise OperationError(f"Host {target.name} is {state}: the VM stays on {source.name}.")
    problem = cluster_problem(vm, target) or network_problem(vm, target)
    if problem:
        raise OperationError(problem)
    with transaction.atomic():
        Host.objects.select_for_update().get(pk=target.pk)
        room = placement.free(target, moving=vm)  # its own room there is held for it
        if room["vcpus"] < vm.vcpus or room["memory_mb"] < vm.memory_mb or room["disk_gb"] < vm.disk_gb:
            raise OperationError(f"Host {target.name} has no room for {vm.name} any more.")
    state = src.get_domain(vm.domain_name).state
    live = state in (DomainState.RUNNING, DomainState.BLOCKED)
    if not live and state not in INACTIVE_STATES:
        raise OperationError(f"{vm.name} is {state} on {source.name}: only a running or stopped VM is migrated.")
    if live and (source.domain_type != target.domain_type or source.storage_path != target.storage_path):
        raise OperationError(
            f"{vm.name} runs: live migration needs the same virtualization type and storage path on "
            f"{source.name} and {target.name}; stop it to migrate it cold."
        )
    try:
        there = dst.get_domain(vm.domain_name).state
    except NotFound:
        there = None
    if there is not None and there not in INACTIVE_STATES:
        raise OperationError(
            f"a copy of {vm.name} runs on {target.name} (an earlier live migration?): left as it is, "
            "nothing moved; check which copy is the VM's"
        )
    volumes = _volumes_there(vm, dst, target)
    domain = cleanup.remove_domain_and_volumes(dst, target.storage_pool, vm.domain_name, volumes)
    if domain or volumes:
        ctx.note(f"removed a copy left on {target.name} by an earlier attempt")
    ctx.note(f"from {source.name} to {target.name}; " + ("live: the VM runs" if live else "the VM is shut off"))
    return live


def _volumes_there(vm, driver, host):
    """Every volume of `vm` in `host`'s pool (its disk, seed, snapshot layers, scratch)."""
    prefix = f"vmm-{vm.uuid}-"
    return sorted(v.name for v in driver.list_volumes(host.storage_pool) if v.name.startswith(prefix))


def _copy_disk(ctx, vm, source, target, src, dst, copy):
    """Cold: every layer of the VM's disk sent, bottom first. Returns (the top's path on the
    target, the seed's or None)."""
    disk = _source_disk(vm, source, src)
    layers = _layers(vm, source, src, live=False)
    top = _send_layers(ctx, vm, source, target, src, dst, copy if disk.backing_path else None, layers)
    return top, _send_seed(ctx, vm, source, target, src, dst)


def _layers(vm, source, src, live):
    """The VM's own disk layers on the source, bottom first: its disk, then its snapshots'
    overlays, the last one the layer the domain writes to (read from the host)."""
    top = src.disk_source(vm.domain_name, inactive=not live)
    layers = list(reversed(chain(src, vm, top)))
    if not layers or layers[0] != vm.disk_volume:
        raise OperationError(
            f"the disk of {vm.name} on {source.name} writes to {top}, which does not lie on its disk "
            f"{vm.disk_volume}: not migrated"
        )
    return layers


def _send_layers(ctx, vm, source, target, src, dst, copy, layers):
    """Send `layers` (bottom first) to the target, each pointed at the one sent before it, the
    first at the target's `copy` of the image (None: a full copy, based on nothing). Returns
    the path of the last one sent there, or `copy`'s path when `layers` is empty."""
    below, below_format = (copy.path, vm.image.format) if copy is not None else (None, None)
    for name in layers:
        local = work_dir(ctx) / name
        src.download_volume(source.storage_pool, name, str(local))
        if below:
            tools.rebase_unsafe(local, below, below_format)
        info = dst.upload_volume(target.storage_pool, name, str(local), "qcow2")
        size = local.stat().st_size // 2**20
        local.unlink()
        if name != vm.disk_volume:
            ctx.note(f"{size} MiB of a snapshot's layer sent ({name})")
        elif copy is not None:
            ctx.note(f"{size} MiB of the VM's own layer sent; a linked clone of {vm.image.name} on {target.name}")
        else:
            ctx.note(f"{size} MiB sent (a full copy: the disk does not depend on the image)")
        below, below_format = info.path, "qcow2"
    return below


def _send_seed(ctx, vm, source, target, src, dst):
    """The cloud-init seed sent to the target (read-only disks are not copied by a live
    migration either). Returns its path there, or None without one."""
    try:
        src.volume_info(source.storage_pool, seed_volume(vm))
    except NotFound:
        return None
    seed = work_dir(ctx) / seed_volume(vm)
    src.download_volume(source.storage_pool, seed_volume(vm), str(seed))
    path = dst.upload_volume(target.storage_pool, seed_volume(vm), str(seed), "raw").path
    ctx.note("cloud-init seed sent")
    return path


def _source_disk(vm, source, src):
    """The VM's disk on the source, checked to be a linked clone of the source's copy of its
    image (or a standalone disk)."""
    disk = src.volume_info(source.storage_pool, vm.disk_volume)
    if disk.backing_path:
        ours = ImageCopy.objects.filter(image=vm.image, host=source, status=CopyStatus.READY).first()
        if ours is None or ours.path != disk.backing_path:
            raise OperationError(
                f"the disk of {vm.name} is based on {disk.backing_path}, not on {source.name}'s copy of "
                f"{vm.image.name}: not migrated"
            )
    return disk


def _prepare_disk(ctx, vm, source, target, src, dst, copy):
    """Live: the frozen layers below the top sent (a VM with snapshots), the top layer the
    migration fills made on the target (on the last layer sent, or on its copy of the image
    for a linked clone), and the seed sent."""
    disk = _source_disk(vm, source, src)
    layers = _layers(vm, source, src, live=True)
    below = _send_layers(ctx, vm, source, target, src, dst, copy if disk.backing_path else None, layers[:-1])
    top = layers[-1]
    capacity = src.volume_info(source.storage_pool, top).capacity_bytes
    if below:
        dst.clone_volume_linked(target.storage_pool, top, below, capacity)
        on = f"{target.name}'s copy of {vm.image.name}" if len(layers) == 1 else "the layers sent"
        ctx.note(f"an empty layer on {on}: the migration fills it")
    else:
        dst.create_volume(target.storage_pool, top, capacity)
        ctx.note("an empty disk for the full copy: the migration fills it")
    _send_seed(ctx, vm, source, target, src, dst)


def _migrate_live(ctx, vm, target, src):
    shown = {"at": 0.0}

    def progress(p):
        if p.seconds - shown["at"] >= NOTE_EVERY and (p.data_total or p.data_remaining):
            shown["at"] = p.seconds
            ctx.note(
                f"{p.seconds:.0f} s: {p.data_remaining // 2**20} MiB of memory left, "
                f"dirty rate {p.dirty_rate} pages/s, {p.disk_processed // 2**20} MiB of disk sent"
            )

    done = src.migrate_live(vm.domain_name, target.uri, progress=progress, timeout=settings.VMM_MIGRATE_TIMEOUT)
    paused = f", paused {done.downtime_ms} ms" if done.downtime_ms else ""
    ctx.note(
        f"moved live in {done.seconds:.1f} s{paused}: {done.data_processed // 2**20} MiB of memory and "
        f"{done.disk_processed // 2**20} MiB of disk sent; it runs on {target.name}"
    )


def _define(ctx, vm, target, src, dst, disk_path, seed_path):
    limit = _bandwidth(src.domain_xml(vm.domain_name, inactive=True))
    vm.host = target  # in memory: the domain as it is to be on the target
    spec = domain_spec(vm, disk_path, seed_path)
    if any(nic.filter == DUAL_STACK_FILTER for nic in spec.nics):
        dst.ensure_dual_stack_filter()
    dst.define(spec)
    if limit and vm.mac_address:
        dst.set_interface_bandwidth(vm.domain_name, vm.mac_address, limit)
        ctx.note(f"interface limit kept: {limit} KiB/s")
    ctx.note(f"defined on {target.name}, shut off as it was")


def _bandwidth(xml):
    """The inbound average (KiB/s) of the first interface's bandwidth limit, or 0."""
    inbound = ET.fromstring(xml).find("devices/interface/bandwidth/inbound")
    try:
        return int(inbound.get("average", 0)) if inbound is not None else 0
    except ValueError:
        return 0


def undo(ctx, vm, target):
    """After a failed move: if the VM still lives on the source, remove what the move made
    on `target` (domain, disk, seed; the image copy stays, it is shared) or owe it to
    `target`. Never raises for the hypervisor's trouble."""
    remove_work_dir(ctx)
    VirtualMachine.objects.filter(pk=vm.pk, moving_to=target).update(moving_to=None)  # its room there is free again
    vm = VirtualMachine.objects.select_related("host").filter(pk=vm.pk).first()
    if vm is None or vm.host_id == target.pk:
        return  # moved already: nothing on the target is a leftover
    try:
        dst = hypervisor_for(target)
        try:
            state = dst.get_domain(vm.domain_name).state
        except NotFound:
            state = None
        if state is not None and state not in INACTIVE_STATES:
            # A guest running there is never destroyed by a clean-up: a live migration whose
            # answer was lost may have finished. Staff look (the reconciliation flags it).
            logger.error("%s runs on %s after a failed migration: left as it is", vm.domain_name, target.name)
            return
        cleanup.remove_domain_and_volumes(dst, target.storage_pool, vm.domain_name, _volumes_there(vm, dst, target))
    except VirtError as exc:
        cleanup.owe(ctx, vm, target, f"migration to {target.name} failed and {target.name} did not answer: {exc}")
