"""External disk snapshots of a domain's disk, done the way that keeps libvirt's backup
checkpoints working (docs/snapshots.md; measured in ../shared/docs/BACKUPS.md). Used through
``driver.Hypervisor``.

A snapshot here is a qcow2 overlay: the panel makes the overlay volume (``clone_volume_linked``
on the disk's current top), then ``snapshot_disk`` makes the domain write to it, which freezes
the layer below as the snapshot. libvirt keeps no snapshot metadata (``NO_METADATA``): the
panel's database names the layers. Going back is the panel's work too (libvirt 9.0 cannot
revert external snapshots): a new empty overlay on the chosen layer and ``set_disk_source``.
Merging a layer away is ``commit_disk`` (QEMU's block commit; a stopped domain is started
paused for it, so the guest never runs).

Outage contract (see ``driver.py``):
- ``disk_source``: a read, repeated.
- ``snapshot_disk``: repeated; a repeated call that finds the disk already writing to the
  overlay counts as done (the lost call did it; whether the guest was frozen is then unknown).
- ``set_disk_source``: sets a value (the persistent config's disk file), repeated.
- ``commit_disk``: not repeated (a block job is started once); a job that fails there can
  look at the chain (``volume_info``'s backing paths) and run it again.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import libvirt

from ._base import Base, retried
from .domains import PERSISTENT_XML
from .errors import InvalidState, OperationFailed, Unreachable, translate
from .types import DiskSnapshot

_SNAPSHOT_FLAGS = (
    libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
    | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT
    | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA
    | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
)


def _disks(root: ET.Element) -> list[ET.Element]:
    return [d for d in root.findall("./devices/disk") if d.find("target") is not None]


def _disk(root: ET.Element, target: str) -> ET.Element:
    for disk in _disks(root):
        if disk.find("target").get("dev") == target:
            return disk
    raise InvalidState(f"the domain has no disk {target}")


def disk_file(xml: str, target: str) -> str:
    """The file domain XML `xml` gives disk `target` (its top layer)."""
    source = _disk(ET.fromstring(xml), target).find("source")
    if source is None or not source.get("file"):
        raise InvalidState(f"disk {target} is not a file")
    return source.get("file")


def with_disk_file(xml: str, target: str, path: str) -> str:
    """Domain XML `xml` with disk `target` writing to `path` (its backing chain left to libvirt to read)."""
    root = ET.fromstring(xml)
    disk = _disk(root, target)
    disk.find("source").set("file", path)
    for backing in disk.findall("backingStore"):
        disk.remove(backing)
    return ET.tostring(root, encoding="unicode")


def snapshot_xml(xml: str, target: str, overlay_path: str) -> str:
    """A disk-only external snapshot of `target` onto `overlay_path`; the domain's other disks untouched."""
    root = ET.Element("domainsnapshot")
    disks = ET.SubElement(root, "disks")
    for disk in _disks(ET.fromstring(xml)):
        dev = disk.find("target").get("dev")
        if dev != target:
            ET.SubElement(disks, "disk", name=dev, snapshot="no")
            continue
        el = ET.SubElement(disks, "disk", name=dev, snapshot="external", type="file")
        ET.SubElement(el, "source", file=overlay_path)
        ET.SubElement(el, "driver", type="qcow2")
    return ET.tostring(root, encoding="unicode")


def _live_chain(xml: str, target: str) -> list[str]:
    """The files of disk `target` in a running domain's XML, top first."""
    chain, node = [], _disk(ET.fromstring(xml), target)
    while node is not None:
        source = node.find("source")
        if source is None or not source.get("file"):
            break
        chain.append(source.get("file"))
        node = node.find("backingStore")
    return chain


class SnapshotOps(Base):
    @retried()
    def disk_source(self, name: str, target: str = "vda", inactive: bool = False) -> str:
        """The file disk ``target`` of domain ``name`` writes to: the running domain's, or
        the persistent config's with ``inactive`` (or when it does not run). Raises ``NotFound``."""
        with self._op("disk_source", name, target) as conn:
            dom = self._domain(conn, name)
            return disk_file(dom.XMLDesc(PERSISTENT_XML if inactive else 0), target)

    def snapshot_disk(self, name: str, overlay_path: str, *, target: str = "vda", quiesce: bool = True) -> DiskSnapshot:
        """Make disk ``target`` of ``name`` write to ``overlay_path`` (an existing qcow2 whose
        backing file is the disk's current top), freezing that top as a snapshot.

        A running domain: a disk-only external snapshot, atomic; with ``quiesce`` the guest's
        filesystems are frozen through its agent for it, and if that fails (no agent, a
        paused guest) it is taken unfrozen, the reason said. A stopped domain: its persistent
        config points at the overlay (consistent: nothing runs). Returns how it was taken.
        Raises ``NotFound``, ``OperationFailed``."""

        def attempt(retry: bool) -> DiskSnapshot:
            with self._op("snapshot_disk", name, overlay_path) as conn:
                dom = self._domain(conn, name)
                if disk_file(dom.XMLDesc(0), target) == overlay_path:
                    if retry:
                        return DiskSnapshot("crash", "the connection was lost while it was taken: frozen or not")
                    raise InvalidState(f"disk {target} of {name} already writes to {overlay_path}")
                if not dom.isActive():
                    conn.defineXML(with_disk_file(dom.XMLDesc(PERSISTENT_XML), target, overlay_path))
                    return DiskSnapshot("stopped")
                snap = snapshot_xml(dom.XMLDesc(0), target, overlay_path)
                reason = "not asked"
                if quiesce:
                    try:
                        dom.snapshotCreateXML(snap, _SNAPSHOT_FLAGS | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE)
                        return DiskSnapshot("frozen")
                    except libvirt.libvirtError as e:
                        if isinstance(translate(e, uri=self.uri), Unreachable):
                            raise
                        reason = e.get_error_message()  # atomic: nothing changed; try unfrozen
                dom.snapshotCreateXML(snap, _SNAPSHOT_FLAGS)
                return DiskSnapshot("crash", reason)

        return self._ride(attempt)

    @retried()
    def set_disk_source(self, name: str, path: str, target: str = "vda") -> None:
        """Point disk ``target`` of ``name``'s persistent config at ``path`` (an existing
        volume; its backing chain is read by libvirt at the next start). Raises ``NotFound``,
        ``InvalidState`` (no such disk), ``OperationFailed``."""
        with self._op("set_disk_source", name, path) as conn:
            dom = self._domain(conn, name)
            conn.defineXML(with_disk_file(dom.XMLDesc(PERSISTENT_XML), target, path))

    def commit_disk(
        self, name: str, top_path: str, base_path: str, *, target: str = "vda", timeout: float = 600
    ) -> str:
        """Merge layer ``top_path`` of disk ``target`` down into ``base_path`` (the layer right
        below it) with QEMU's block commit; the layers above it then lie on ``base_path``, and
        ``top_path`` is no longer used (its file stays: delete the volume). When ``top_path``
        is the disk's top, the disk writes to ``base_path`` afterwards (active commit and
        pivot; the persistent config follows). A stopped domain is started paused for it
        and destroyed again: its guest does not run. Returns ``"merged"``, or
        ``"not in the chain"`` when ``top_path`` is no longer one of the disk's layers.
        Raises ``NotFound``, ``OperationFailed`` (also after ``timeout`` seconds: the block
        job is aborted, nothing changed), ``Unreachable``."""
        with self._op("commit_disk", name, top_path, base_path) as conn:
            dom = self._domain(conn, name)
            started = False
            if not dom.isActive():
                dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
                started = True
            try:
                chain = _live_chain(dom.XMLDesc(0), target)
                if top_path not in chain:
                    return "not in the chain"
                active = chain[0] == top_path
                flags = libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE if active else 0
                dom.blockCommit(target, base_path, top_path, 0, flags)
                self._finish_commit(dom, target, active, timeout)
                settled = time.monotonic() + 10  # libvirt updates the chain when it hears the job end
                while top_path in _live_chain(dom.XMLDesc(0), target):
                    if time.monotonic() > settled:
                        raise OperationFailed(f"the block commit of {top_path} did not complete")
                    time.sleep(0.1)
                if active and started:
                    # The persistent config follows the pivot; make sure before the domain stops.
                    persistent = dom.XMLDesc(PERSISTENT_XML)
                    if disk_file(persistent, target) == top_path:
                        conn.defineXML(with_disk_file(persistent, target, base_path))
                return "merged"
            finally:
                if started:
                    try:
                        dom.destroy()
                    except libvirt.libvirtError:
                        pass  # already gone; a real failure shows in the next call

    @staticmethod
    def _finish_commit(dom: libvirt.virDomain, target: str, active: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = dom.blockJobInfo(target, 0)
            if not info:
                return  # a commit below the top ends by itself
            if active and info.get("end") and info.get("cur") == info.get("end"):
                try:
                    dom.blockJobAbort(target, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
                    return
                except libvirt.libvirtError:
                    pass  # not ready yet
            time.sleep(0.1)
        try:
            dom.blockJobAbort(target, 0)
        except libvirt.libvirtError:
            pass
        raise OperationFailed(f"the block commit of disk {target} did not finish in {timeout:.0f} s: aborted")
