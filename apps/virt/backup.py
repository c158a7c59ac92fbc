"""Point-in-time copies of a domain's disk for backups (docs/backups.md; measured in
../shared/docs/BACKUPS.md). Used through ``driver.Hypervisor``.

- ``backup_disk``: libvirt's backup API in push mode (``virDomainBackupBegin``): QEMU copies
  the disk as it was at the instant the job began into ``target_path`` (a standalone qcow2 in
  the host's pool directory). The guest's filesystems are frozen through its agent only
  around that instant (freeze, begin, thaw), after a `sync` through the agent has written
  out what the freeze would otherwise flush while the guest waits. The call waits for the copy to end; a copy that
  fails or times out is aborted, and the target is left for the caller to delete (a volume
  once the pool is refreshed). It can begin a checkpoint (a dirty bitmap) at the same
  instant, and copy only the blocks written since an earlier checkpoint (incremental).
- ``list_checkpoints`` / ``delete_checkpoint``: the checkpoints the panel's backups began
  (a failed backup's is deleted; libvirt merges its bitmap into its parent's).
- ``convert_volume``: a volume's data in another format (libvirt runs ``qemu-img convert`` on
  the host): the backing chain flattened. How a stopped VM's disk is read.
- ``abort_backup``: a failed job's clean-up stops a backup that still runs; ``thaw_guest``
  thaws a guest its killed worker left frozen.

The copy then travels as a file through the storage API (``download_volume``), so a remote
host needs nothing but libvirt. Outage contract (see ``driver.py``): ``convert_volume`` starts
afresh (the partial volume is removed first, as the other volume makers); ``abort_backup``,
``thaw_guest``, ``list_checkpoints`` and ``delete_checkpoint`` are repeated; ``backup_disk`` is not (a job is
begun once; a failed backup is taken again).
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

import libvirt

from ._base import Base, log, retried
from .domain_xml import build_volume_xml
from .errors import InvalidState, OperationFailed, Unreachable, translate
from .storage import _vol_info
from .types import DiskBackup, VolumeInfo

# The copy's speed (MiB/s) between the backup's begin and the thaw's answer.
THAW_SPEED_MIB = 1
FLUSH_TIMEOUT = 60  # s: the `sync` through the agent before a freeze (a guest with much dirty data)


def _set_speed(dom: libvirt.virDomain, target: str, mib_per_s: int) -> bool:
    """Set the running backup copy's speed (0: unlimited). False when it could not be set
    while the copy still runs; a copy that has ended already counts as done."""
    try:
        dom.blockJobSetSpeed(target, mib_per_s, 0)
        return True
    except libvirt.libvirtError:
        try:
            return not dom.blockJobInfo(target, 0)
        except libvirt.libvirtError:
            return False


def backup_xml(target: str, target_path: str, incremental: str | None = None) -> str:
    """A push-mode backup of disk ``target`` into ``target_path``, a standalone qcow2: full
    (only what the guest has written takes room; the base image's data included), or with
    ``incremental`` (a checkpoint's name) only the blocks written since that checkpoint."""
    root = ET.Element("domainbackup", mode="push")
    if incremental:
        ET.SubElement(root, "incremental").text = incremental
    disks = ET.SubElement(root, "disks")
    disk = ET.SubElement(disks, "disk", name=target, backup="yes", type="file")
    ET.SubElement(disk, "driver", type="qcow2")
    ET.SubElement(disk, "target", file=target_path)
    return ET.tostring(root, encoding="unicode")


def _other_disks(xml: str, target: str) -> list[str]:
    found = []
    for disk in ET.fromstring(xml).findall("./devices/disk"):
        dev = disk.find("target")
        if dev is not None and dev.get("dev") != target:
            found.append(dev.get("dev"))
    return found


def _backup_only(xml: str, target: str, target_path: str, incremental: str | None = None) -> str:
    """``backup_xml`` with the domain's other disks (seed ISOs, say) left out."""
    root = ET.fromstring(backup_xml(target, target_path, incremental))
    disks = root.find("disks")
    for dev in _other_disks(xml, target):
        ET.SubElement(disks, "disk", name=dev, backup="no")
    return ET.tostring(root, encoding="unicode")


def checkpoint_xml(xml: str, target: str, name: str) -> str:
    """A checkpoint ``name`` of disk ``target`` (a dirty bitmap in its qcow2), the domain's
    other disks without one."""
    root = ET.Element("domaincheckpoint")
    ET.SubElement(root, "name").text = name
    disks = ET.SubElement(root, "disks")
    ET.SubElement(disks, "disk", name=target, checkpoint="bitmap")
    for dev in _other_disks(xml, target):
        ET.SubElement(disks, "disk", name=dev, checkpoint="no")
    return ET.tostring(root, encoding="unicode")


class BackupOps(Base):
    """Mixed into ``Hypervisor`` beside ``StorageOps`` (whose ``_afresh`` the volume makers use)."""

    def backup_disk(
        self,
        name: str,
        target_path: str,
        *,
        target: str = "vda",
        quiesce: bool = True,
        timeout: float = 3600,
        checkpoint: str | None = None,
        incremental: str | None = None,
    ) -> DiskBackup:
        """Copy disk ``target`` of the running domain ``name`` as it is now into
        ``target_path``: an existing empty qcow2 of the disk's size (a pool volume made
        beforehand, so that nothing is created while the guest is frozen), with the guest's
        filesystems frozen through its agent for the instant the copy begins when
        ``quiesce`` (if the agent does not answer it is taken unfrozen, the reason said).
        With ``checkpoint`` a libvirt checkpoint of that name is made at the same instant
        (the next backup's ``incremental``); with ``incremental`` (an existing checkpoint's
        name) only the blocks written since it are copied, the others left unallocated in
        the target. Waits for the copy to end. Returns how it was taken and how long the
        guest was frozen (from asking the freeze to the thaw's answer). Raises ``NotFound``,
        ``InvalidState`` (not running; the checkpoint ``incremental`` is not there, or its
        bitmap is missing or broken: take a full one; the disk cannot keep the checkpoint
        ``checkpoint``, a qcow2 version 2 say: take one without), ``OperationFailed`` (the copy failed,
        or took longer than ``timeout`` s: aborted)."""
        if quiesce:
            self._flush_guest(name)
        with self._op("backup_disk", name, target_path) as conn:
            dom = self._domain(conn, name)
            if not dom.isActive():
                raise InvalidState(f"domain '{name}' is not running: its disk is read with convert_volume")
            desc = dom.XMLDesc(0)
            xml = _backup_only(desc, target, target_path, incremental)
            cp_xml = checkpoint_xml(desc, target, checkpoint) if checkpoint else None
            frozen, reason, frozen_ms = False, "not asked", None
            began = time.monotonic()
            if quiesce:
                try:
                    dom.fsFreeze()
                    frozen = True
                except libvirt.libvirtError as e:
                    if isinstance(translate(e, uri=self.uri), Unreachable):
                        raise
                    reason = e.get_error_message()
            frozen_at = time.monotonic()
            slowed = None
            try:
                dom.backupBegin(xml, cp_xml, libvirt.VIR_DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL)
                if frozen:
                    # QEMU's copy starts at once and competes with the guest (its agent must
                    # answer the thaw): held to a trickle until the thaw has answered.
                    slowed = threading.Thread(target=_set_speed, args=(dom, target, THAW_SPEED_MIB), daemon=True)
                    slowed.start()
            except libvirt.libvirtError as e:
                text = e.get_error_message() or ""
                if incremental and ("checkpoint" in text or "bitmap" in text):
                    raise InvalidState(f"no incremental copy from checkpoint {incremental}: {text}") from e
                if checkpoint and "bitmap" in text:
                    raise InvalidState(f"the disk cannot keep a checkpoint: {text}") from e
                raise
            finally:
                begun = time.monotonic()
                if frozen:
                    try:
                        dom.fsThaw()
                    finally:
                        frozen_ms = (time.monotonic() - began) * 1000
                        log.debug(
                            "%s: freeze %.0f ms, backup begin %.0f ms, thaw %.0f ms",
                            name, (frozen_at - began) * 1000, (begun - frozen_at) * 1000,
                            (time.monotonic() - begun) * 1000,
                        )  # fmt: skip
                        if slowed is not None:
                            slowed.join()
                            if not _set_speed(dom, target, 0):  # full speed again
                                raise OperationFailed("the disk copy could not be given its full speed again")
            processed = self._wait_for_backup(dom, timeout)
            if frozen:
                return DiskBackup("frozen", "", frozen_ms, processed)
            return DiskBackup("crash", reason, None, processed)

    def _flush_guest(self, name: str) -> None:
        """Have the guest write its dirty data out just before the freeze (`sync` through its
        agent), so that the freeze's own flush, which the guest waits out frozen, has little
        left to write. Best effort: a guest whose agent runs no commands (a Windows guest, an
        agent with guest-exec disabled) is frozen as it is."""
        try:
            code, output = self.agent_exec(name, ["sync"], timeout=FLUSH_TIMEOUT)
        except InvalidState as e:
            log.debug("%s: no flush before the freeze: %s", name, e)
            return
        if code != 0:
            log.debug("%s: the flush before the freeze exited %s: %s", name, code, output.strip()[-200:])

    @retried()
    def list_checkpoints(self, name: str) -> list[str]:
        """The names of domain ``name``'s libvirt checkpoints. Raises ``NotFound``."""
        with self._op("list_checkpoints", name) as conn:
            return sorted(cp.getName() for cp in self._domain(conn, name).listAllCheckpoints(0))

    @retried()
    def delete_checkpoint(self, name: str, checkpoint: str) -> bool:
        """Delete checkpoint ``checkpoint`` of domain ``name`` with its dirty bitmaps (libvirt
        merges them into the parent checkpoint's: incrementals from that one stay right).
        A stopped domain, or bitmaps that are no longer there (the disk was replaced), lose
        the metadata only. Returns whether it was there. Raises ``NotFound`` (no domain)."""
        with self._op("delete_checkpoint", name, checkpoint) as conn:
            dom = self._domain(conn, name)
            try:
                cp = dom.checkpointLookupByName(checkpoint, 0)
            except libvirt.libvirtError as e:
                if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_CHECKPOINT:
                    return False
                raise
            if dom.isActive():
                try:
                    cp.delete(0)
                    return True
                except libvirt.libvirtError as e:
                    if isinstance(translate(e, uri=self.uri), Unreachable):
                        raise
                    log.debug("%s: checkpoint %s: %s; its metadata removed", name, checkpoint, e.get_error_message())
            cp.delete(libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY)
            return True

    @staticmethod
    def _wait_for_backup(dom: libvirt.virDomain, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while True:
            info = dom.jobStats(0)
            if info.get("type", libvirt.VIR_DOMAIN_JOB_NONE) == libvirt.VIR_DOMAIN_JOB_NONE:
                break
            if time.monotonic() > deadline:
                try:
                    dom.abortJob()
                except libvirt.libvirtError:
                    pass
                raise OperationFailed(f"the disk copy did not finish in {timeout:.0f} s: aborted")
            time.sleep(0.1)
        done = dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        if done.get("type") != libvirt.VIR_DOMAIN_JOB_COMPLETED and not done.get("success", False):
            raise OperationFailed(f"the disk copy failed: {done.get('errmsg') or 'the backup job did not complete'}")
        return done.get("disk_processed")

    @retried()
    def thaw_guest(self, name: str) -> int:
        """Thaw the filesystems of the running domain ``name``'s guest (a failed backup's
        clean-up: a worker killed between the freeze and the thaw leaves the guest frozen, and
        its agent never thaws by itself). Best effort: a stopped domain or an agent that does
        not answer is left as it is. Returns how many filesystems were thawed (0 when none
        was frozen). Raises ``NotFound``, ``Unreachable``."""
        with self._op("thaw_guest", name) as conn:
            dom = self._domain(conn, name)
            if not dom.isActive():
                return 0
            try:
                return dom.fsThaw()
            except libvirt.libvirtError as e:
                if isinstance(translate(e, uri=self.uri), Unreachable):
                    raise
                log.debug("%s: no thaw: %s", name, e.get_error_message())
                return 0

    @retried()
    def abort_backup(self, name: str) -> bool:
        """Abort a backup job of ``name`` that still runs (a failed job's clean-up). Returns
        whether one ran. Raises ``NotFound``."""
        with self._op("abort_backup", name) as conn:
            dom = self._domain(conn, name)
            if not dom.isActive():
                return False
            info = dom.jobStats(0)
            if info.get("type", libvirt.VIR_DOMAIN_JOB_NONE) == libvirt.VIR_DOMAIN_JOB_NONE:
                return False
            if info.get("operation") not in (None, libvirt.VIR_DOMAIN_JOB_OPERATION_BACKUP):
                return False
            dom.abortJob()
            return True

    def convert_volume(self, pool: str, name: str, source_name: str, format: str) -> VolumeInfo:
        """A new volume ``name`` with ``source_name``'s data (its backing chain flattened) in
        ``format`` (``raw`` or ``qcow2``), made on the host. Raises ``NotFound``, ``OperationFailed``."""

        def make(creating: Callable[[], None]) -> VolumeInfo:
            with self._op("convert_volume", pool, name, source_name, format) as conn:
                p = self._pool(conn, pool)
                src = self._volume(conn, pool, source_name)
                capacity = src.info()[1]
                creating()
                vol = p.createXMLFrom(build_volume_xml(name, capacity, format), src, 0)
                return _vol_info(vol)

        return self._afresh(pool, name, make)
