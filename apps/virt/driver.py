"""``Hypervisor``: the one object the rest of the panel uses to talk to a host.

    hv = Hypervisor("qemu+tcp://127.0.0.11/system")
    hv.host_info(); hv.define(spec); hv.start(name); hv.stop(name, timeout=60)

Every method returns plain dataclasses (``apps.virt.types``) or nothing, and
raises only ``apps.virt.errors`` (``NotFound``, ``InvalidState``,
``Unreachable``, ``OperationFailed``; ``ValueError`` for invalid arguments).
Instances are cheap and hold no state but the URI and the outage window: the
connection is shared per process (``apps.virt.connection``). Calls are logged at
DEBUG on the ``vmmanager.virt`` logger with URI and timing.

Waiting out a lost connection (``Hypervisor(uri, outage_window=60, host_name="h")``;
the default window 0 fails at once). A method marked safe below that finds its
connection lost (cannot open it, or loses it mid-call: ``Unreachable`` of kind
"unreachable") reconnects and runs again from its start, with pauses of 0.5 s
doubling to 5 s, until it succeeds or the window has passed since the loss; then it
raises ``Unreachable("host h unreachable for 60 s: <libvirt's reason>")``. A success
after waiting is told to the reporter of ``apps.virt.outage`` ("host h unreachable for
4 s, reconnected"). Refused credentials or permissions are never waited out.

Safe to run again, and why:
- reads: ``host_info``, ``list_domains``, ``get_domain``, ``domain_xml``,
  ``domain_states``, ``list_pools``, ``pool_info``, ``list_volumes``, ``volume_info``,
  ``network_active``, ``network_state``, ``interface_exists``, ``sweep_stats``, ``agent_ready``,
  ``interface_addresses``, ``interface_bandwidth``, ``host_cpu``, ``baseline_cpu``; ``refresh_pool``;
  ``download_volume`` and ``volume_sha256`` and ``download_volume_sparse`` (read from the start again); ``disk_source``;
  ``list_checkpoints``;
  ``abort_backup`` (aborts what still runs); ``thaw_guest`` (thaws what is frozen).
- set to a value: ``define`` (same name and UUID redefines), ``ensure_pool``,
  ``define_network`` (a network that is there is kept), ``start_network`` (starts what does
  not run), ``ensure_dual_stack_filter``, ``update_interface_filter`` (to the same parameters),
  ``resize_volume`` (to a size; same size is a no-op), ``set_user_password`` (same hash),
  ``set_interface_bandwidth`` (to a rate), ``set_disk_source`` (the persistent config's disk file),
  ``set_vcpus``, ``set_memory``, ``resize_disk_live`` (to a value).
- ``snapshot_disk``: a repeated call that finds the disk already writing to the overlay
  counts as done (the lost call took the snapshot; whether frozen is then unknown).
- to a state: ``start``, ``shutdown``, ``destroy``, ``suspend``, ``resume``: on a repeated
  call, "already in that state" (``InvalidState``) means the lost call did it: done.
  ``stop`` looks at the state first anyway.
- deletes: ``delete_volume``, ``undefine``, ``delete_pool``, ``remove_network``, ``delete_checkpoint`` (returns
  False when none was there): ``NotFound`` on a repeated
  call means the lost call did it: done (so a retried delete of something that was never
  there returns instead of raising ``NotFound``).
- volume makers: ``create_volume``, ``clone_volume_linked``, ``copy_volume``, ``convert_volume``,
  ``upload_volume``, ``upload_volume_sparse`` start from scratch: a volume an attempt may have created (partial
  upload, or made but its answer lost) is deleted first.
Not safe, so failing at once as before: ``reboot`` and ``reset`` (a second reboot of a
guest already rebooting), ``agent_exec`` (runs a command in the guest twice),
``watch_lifecycle`` (the watcher handles its own reconnects), ``backup_disk`` (a backup job
is begun once; a failed backup is taken again), ``commit_disk`` (a block job is
started once; the snapshot job reads the chain and can run it again), ``migrate_live`` (a migration is
started once; a failed one leaves the domain running on the source), ``open_console`` (a stream is
opened once; the console bridge opens a new one when asked again), ``send_keys``.
"""

from __future__ import annotations

import libvirt

from ._base import retried
from .backup import BackupOps
from .bandwidth import BandwidthOps
from .console import ConsoleOps
from .cpu import CpuOps
from .domain_xml import parse_capabilities
from .domains import DomainOps
from .events import WatchOps
from .migration import MigrationOps
from .networks import NetworkOps
from .snapshots import SnapshotOps
from .stats import StatsOps
from .storage import StorageOps
from .types import HostInfo


def _version(v: int) -> str:
    # libvirt encodes versions as major * 1_000_000 + minor * 1000 + micro.
    return f"{v // 1_000_000}.{v // 1000 % 1000}.{v % 1000}"


class Hypervisor(
    DomainOps,
    StorageOps,
    SnapshotOps,
    BackupOps,
    StatsOps,
    WatchOps,
    NetworkOps,
    ConsoleOps,
    BandwidthOps,
    MigrationOps,
    CpuOps,
):
    """Driver for the host at libvirt URI ``uri`` (methods in the mixins: domains, storage, disk
    snapshots, disk backups, statistics, events, networks, consoles, interface bandwidth, CPUs)."""

    @retried()
    def host_info(self) -> HostInfo:
        """What the host is. Raises ``Unreachable``/``OperationFailed``.

        Uses only calls that work on every host: never ``getSysinfo``, which
        fails on machines without SMBIOS/DMI data (like our CI machines).
        ``domain_types`` is what capabilities advertise; whether KVM really
        works is a per-host setting (it does not on paravirtual-KVM machines).
        """
        with self._op("host_info") as conn:
            _model, memory_mb, cpus, mhz, *_topology = conn.getInfo()
            hostname = conn.getHostname()
            lib_version = conn.getLibVersion()
            try:
                hv_version = _version(conn.getVersion())
            except libvirt.libvirtError:
                hv_version = None  # some drivers cannot tell; not worth failing for
            free_mb = conn.getFreeMemory() // 2**20
            arch, domain_types = parse_capabilities(conn.getCapabilities())
        return HostInfo(
            hostname=hostname,
            uri=self.uri,
            arch=arch,
            cpus=cpus,
            cpu_mhz=mhz,
            memory_mb=memory_mb,
            free_memory_mb=free_mb,
            libvirt_version=_version(lib_version),
            hypervisor_version=hv_version,
            domain_types=domain_types,
        )
