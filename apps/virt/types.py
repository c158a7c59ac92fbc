"""Plain, frozen value objects the driver accepts and returns (no libvirt here).

Sizes are bytes for storage and MiB for memory, as the field names say.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class DomainState(enum.StrEnum):
    """Domain states. A ``str`` subclass: ``info.state == "running"`` works and it serialises as text."""

    RUNNING = "running"
    PAUSED = "paused"
    SHUTOFF = "shutoff"
    CRASHED = "crashed"
    SHUTDOWN = "shutdown"  # ACPI shutdown in progress, still active
    PMSUSPENDED = "pmsuspended"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


# States in which the domain has no QEMU process (libvirt's "inactive").
INACTIVE_STATES = frozenset({DomainState.SHUTOFF, DomainState.CRASHED})

DOMAIN_TYPES = ("kvm", "qemu")


@dataclass(frozen=True)
class HostInfo:
    hostname: str
    uri: str
    arch: str  # host CPU arch from capabilities, e.g. "x86_64"
    cpus: int  # logical CPUs
    cpu_mhz: int
    memory_mb: int
    free_memory_mb: int
    libvirt_version: str  # "9.0.0"
    hypervisor_version: str | None  # "7.2.22" for QEMU; None when the driver cannot say
    domain_types: tuple[str, ...]  # what capabilities advertise, e.g. ("qemu", "kvm"); NOT proof KVM works


@dataclass(frozen=True)
class PoolInfo:
    name: str
    path: str | None
    capacity_bytes: int
    allocation_bytes: int
    available_bytes: int
    active: bool


@dataclass(frozen=True)
class DomainInfo:
    name: str
    uuid: str
    state: DomainState
    vcpus: int
    memory_mb: int  # configured maximum memory
    persistent: bool
    autostart: bool


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    path: str
    format: str | None  # "qcow2", "raw", "iso", ...
    capacity_bytes: int  # virtual size
    allocation_bytes: int  # space used on the host
    backing_path: str | None = None


@dataclass(frozen=True)
class MigrationProgress:
    """A live migration's figures as libvirt reports them (bytes; pages per second)."""

    seconds: float = 0.0
    data_total: int = 0
    data_processed: int = 0
    data_remaining: int = 0
    dirty_rate: int = 0
    disk_processed: int = 0
    downtime_ms: int = 0  # known once it finished


@dataclass(frozen=True)
class DiskSnapshot:
    """How ``snapshot_disk`` took a snapshot: ``frozen`` (the guest's filesystems frozen through
    its agent), ``crash`` (running, not frozen: as after a power cut; ``reason`` says why) or
    ``stopped`` (the domain was off: consistent)."""

    how: str
    reason: str = ""


@dataclass(frozen=True)
class DiskBackup:
    """How ``backup_disk`` took a disk's copy: ``frozen`` (the guest's filesystems frozen
    through its agent for ``frozen_ms`` around the instant the copy began) or ``crash`` (not
    frozen: as after a power cut; ``reason`` says why)."""

    how: str
    reason: str = ""
    frozen_ms: float | None = None
    # What QEMU copied (the changed blocks of an incremental copy), when libvirt tells.
    processed_bytes: int | None = None


@dataclass(frozen=True)
class DiskSpec:
    """One disk or cdrom. ``path=None`` is an empty cdrom drive (parsed XML may
    also give ``None`` for network disks). A cdrom is always read-only."""

    path: str | None
    format: str = "qcow2"
    target: str = "vda"
    bus: str = "virtio"
    readonly: bool = False
    device: str = "disk"  # "disk" | "cdrom" (parsed XML may also give "floppy"/"lun")

    def __post_init__(self) -> None:
        if self.device not in ("disk", "cdrom", "floppy", "lun"):
            raise ValueError(f"disk device must be 'disk' or 'cdrom', not {self.device!r}")


@dataclass(frozen=True)
class NicSpec:
    network: str | None = "default"  # None only when parsed from a non-network interface
    mac: str | None = None  # None: libvirt generates one
    model: str = "virtio"
    bridge: str | None = None  # set: a host bridge (type='bridge') instead of a libvirt network
    # Anti-spoofing: an nwfilter bound to the interface, with its parameters (a name may repeat:
    # (("IP", "198.51.100.7"), ("IPV6", "2001:db8::7"))).
    filter: str | None = None
    filter_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class DomainSpec:
    """What we define. ``domain_type`` is required on purpose: it is a per-host
    setting ("qemu" where KVM is broken, like our CI machines), never guessed.

    ``kernel`` set → direct kernel boot (``initrd``/``cmdline`` optional),
    otherwise boots from ``boot`` devices. The serial console is a pty (libvirt
    can stream it); ``serial_log_path`` set → its output is also logged to that file.
    ``vnc_password`` set → a VNC display on ``vnc_listen`` with that password.
    Raises ``ValueError`` when invalid.
    """

    name: str
    domain_type: str
    vcpus: int
    memory_mb: int
    uuid: str | None = None  # None: libvirt generates one
    disks: tuple[DiskSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None
    serial_log_path: str | None = None
    guest_agent: bool = False
    vnc_password: str | None = None  # set: a VNC graphics device with this password (at most 8 characters)
    vnc_listen: str = "127.0.0.1"
    cpu_xml: str | None = None  # set: this guest CPU (a cluster's baseline); else QEMU's default
    machine: str = "pc"
    arch: str = "x86_64"
    boot: tuple[str, ...] = field(default=("hd",))
    # Set: the domain may grow live up to these (``vcpus``/``memory_mb`` are the current
    # values): a warm pool's standby VM, sized when it is taken (docs/warm-pool.md).
    max_vcpus: int | None = None
    max_memory_mb: int | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("domain name is empty")
        if self.domain_type not in DOMAIN_TYPES:
            raise ValueError(f"domain_type must be one of {DOMAIN_TYPES}, not {self.domain_type!r}")
        if self.vcpus < 1 or self.memory_mb < 1:
            raise ValueError("vcpus and memory_mb must be positive")
        if (self.max_vcpus or self.vcpus) < self.vcpus or (self.max_memory_mb or self.memory_mb) < self.memory_mb:
            raise ValueError("the maximum vcpus and memory_mb cannot be below the current ones")
        if self.vnc_password is not None and not 1 <= len(self.vnc_password) <= 8:
            raise ValueError("a VNC password has 1 to 8 characters")
        if (self.initrd or self.cmdline) and not self.kernel:
            raise ValueError("initrd/cmdline need a kernel")
        # Tuples, not lists: the spec is frozen and hashable.
        object.__setattr__(self, "disks", tuple(self.disks))
        object.__setattr__(self, "nics", tuple(self.nics))
        object.__setattr__(self, "boot", tuple(self.boot))


@dataclass(frozen=True)
class ParsedDomain:
    """What ``parse_domain_xml`` reads back from any domain XML (ours or not)."""

    name: str
    uuid: str | None
    domain_type: str
    vcpus: int
    memory_mb: int
    disks: tuple[DiskSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None
    serial_log_path: str | None = None
    guest_agent: bool = False
    vnc_password: str | None = None  # only in XML read with its secrets (VIR_DOMAIN_XML_SECURE)
    machine: str | None = None
    arch: str | None = None


@dataclass(frozen=True)
class NetworkIp:
    """A host-side address of a libvirt network: the guests' gateway on it."""

    address: str
    prefix: int
    family: str = "ipv4"  # or "ipv6"


@dataclass(frozen=True, kw_only=True)
class NetworkSpec:
    """A libvirt network to define. ``forward``: None (isolated: no forwarding), ``nat``,
    ``route`` or ``bridge`` (onto the existing host bridge ``bridge``). ``bridge`` names
    the bridge libvirt makes for the other modes (None: libvirt picks virbrN). No DHCP and
    no DNS server: the panel gives guests static addresses and their DNS servers."""

    name: str
    forward: str | None = None
    bridge: str | None = None
    ips: tuple[NetworkIp, ...] = ()


@dataclass(frozen=True)
class NetworkState:
    """A libvirt network as the host has it."""

    name: str
    active: bool
    autostart: bool
    bridge: str | None = None  # the bridge it runs on
