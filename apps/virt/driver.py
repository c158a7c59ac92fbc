"""``Hypervisor``: the one object the rest of the panel uses to talk to a host.

    hv = Hypervisor("qemu+tcp://127.0.0.11/system")
    hv.host_info(); hv.define(spec); hv.start(name); hv.stop(name, timeout=60)

Every method returns plain dataclasses (``apps.virt.types``) or nothing, and
raises only ``apps.virt.errors`` (``NotFound``, ``InvalidState``,
``Unreachable``, ``OperationFailed``; ``ValueError`` for invalid arguments).
Instances are cheap and hold no state but the URI: the connection is shared
per process (``apps.virt.connection``). Calls are logged at DEBUG on the
``vmmanager.virt`` logger with URI and timing.
"""

from __future__ import annotations

import libvirt

from .domain_xml import parse_capabilities
from .domains import DomainOps
from .events import WatchOps
from .stats import StatsOps
from .storage import StorageOps
from .types import HostInfo


def _version(v: int) -> str:
    # libvirt encodes versions as major * 1_000_000 + minor * 1000 + micro.
    return f"{v // 1_000_000}.{v // 1000 % 1000}.{v % 1000}"


class Hypervisor(DomainOps, StorageOps, StatsOps, WatchOps):
    """Driver for the host at libvirt URI ``uri`` (methods in the mixins: domains, storage, statistics, events)."""

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
