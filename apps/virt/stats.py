"""Raw resource counters of a whole host in one sweep (used by the statistics collector).

``StatsOps.sweep_stats()`` asks libvirt for every domain's counters with ONE bulk call
(``getAllDomainStats`` with ``VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT``: a domain busy
with a job is reported with what is at hand instead of blocking the sweep) plus the host's
own CPU and memory counters. It returns a ``HostCounters`` holding ``DomainCounters`` per
domain; raises ``Unreachable`` / ``OperationFailed`` like every driver call.

Values are cumulative counters as libvirt reports them (CPU time in ns, bytes, requests,
packets), never rates: ``apps.stats.rates`` derives rates from two sweeps. A counter the
driver does not report is ``None`` (libvirt's test driver reports only the state; a
shut-off domain has no CPU, block or network counters).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import libvirt

from ._base import Base, retried
from .domains import _state
from .types import DomainState

_DOMAIN_STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
    | libvirt.VIR_DOMAIN_STATS_BLOCK
)


@dataclass(frozen=True)
class DomainCounters:
    """One domain's counters at one moment (``None``: not reported)."""

    name: str
    state: DomainState
    cpu_time_ns: int | None = None
    vcpus: int | None = None
    memory_total_bytes: int | None = None  # what the balloon currently gives the guest
    memory_used_bytes: int | None = None  # guest-reported used memory, else the QEMU process's RSS
    disk_read_bytes: int | None = None  # summed over all block devices
    disk_write_bytes: int | None = None
    disk_read_reqs: int | None = None
    disk_write_reqs: int | None = None
    net_rx_bytes: int | None = None  # summed over all interfaces
    net_tx_bytes: int | None = None
    net_rx_packets: int | None = None
    net_tx_packets: int | None = None


@dataclass(frozen=True)
class HostCounters:
    """The host's counters and its domains', read at ``at`` (seconds since the epoch)."""

    at: float
    cpus: int
    cpu_busy_ns: int | None  # user + kernel time over all CPUs
    cpu_total_ns: int | None  # user + kernel + idle + iowait
    memory_total_bytes: int | None
    memory_used_bytes: int | None  # total - free - buffers - cached (when the host tells them)
    domains: tuple[DomainCounters, ...]


_BLOCK_FIELDS = ("rd.bytes", "wr.bytes", "rd.reqs", "wr.reqs")
_NET_FIELDS = ("rx.bytes", "tx.bytes", "rx.pkts", "tx.pkts")


def _sums(stats: dict, prefix: str, fields: tuple[str, ...]) -> list[int | None]:
    """Per field, ``<prefix>.<i>.<field>`` summed over the ``<prefix>.count`` devices;
    ``None`` where no device reports it. One pass over the devices for all the fields
    (a sweep parses every domain of a host: at 1,000 domains per host, eight separate
    passes per domain were most of the collector's time, bench/stats.py)."""
    totals: list[int | None] = [None] * len(fields)
    for i in range(stats.get(f"{prefix}.count", 0)):
        for j, field in enumerate(fields):
            value = stats.get(f"{prefix}.{i}.{field}")
            if value is not None:
                totals[j] = value if totals[j] is None else totals[j] + value
    return totals


def _kib(value: int | None) -> int | None:
    return None if value is None else value * 1024


def parse_domain_stats(name: str, stats: dict) -> DomainCounters:
    """Turn one entry of ``getAllDomainStats`` (typed-parameter dict) into counters.

    Memory used: the guest's own view (balloon ``available - unused``, needs the balloon
    driver's stats in the guest) when present, else the QEMU process's resident set.
    """
    available, unused = stats.get("balloon.available"), stats.get("balloon.unused")
    if available is not None and unused is not None:
        used = _kib(available - unused)
    else:
        used = _kib(stats.get("balloon.rss"))
    disk_read_bytes, disk_write_bytes, disk_read_reqs, disk_write_reqs = _sums(stats, "block", _BLOCK_FIELDS)
    net_rx_bytes, net_tx_bytes, net_rx_packets, net_tx_packets = _sums(stats, "net", _NET_FIELDS)
    return DomainCounters(
        name=name,
        state=_state(stats.get("state.state", libvirt.VIR_DOMAIN_NOSTATE)),
        cpu_time_ns=stats.get("cpu.time"),
        vcpus=stats.get("vcpu.current"),
        memory_total_bytes=_kib(stats.get("balloon.current")),
        memory_used_bytes=used,
        disk_read_bytes=disk_read_bytes,
        disk_write_bytes=disk_write_bytes,
        disk_read_reqs=disk_read_reqs,
        disk_write_reqs=disk_write_reqs,
        net_rx_bytes=net_rx_bytes,
        net_tx_bytes=net_tx_bytes,
        net_rx_packets=net_rx_packets,
        net_tx_packets=net_tx_packets,
    )


class StatsOps(Base):
    """The statistics call of the driver. Used through ``driver.Hypervisor``."""

    @retried()
    def sweep_stats(self) -> HostCounters:
        """All domains' counters in one bulk call, and the host's CPU and memory counters.

        Raises ``Unreachable`` / ``OperationFailed``.
        """
        with self._op("sweep_stats") as conn:
            try:
                entries = conn.getAllDomainStats(_DOMAIN_STATS, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT)
            except libvirt.libvirtError as e:
                if e.get_error_code() not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
                    raise
                entries = conn.getAllDomainStats(_DOMAIN_STATS, 0)  # a libvirt older than 4.5 has no NOWAIT
            at = time.time()
            domains = tuple(parse_domain_stats(dom.name(), stats) for dom, stats in entries)
            _model, memory_mb, cpus, *_rest = conn.getInfo()
            busy = total = None
            cpu = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS)
            if "user" in cpu and "kernel" in cpu and "idle" in cpu:
                busy = cpu["user"] + cpu["kernel"]
                total = busy + cpu["idle"] + cpu.get("iowait", 0)
            memory_total, memory_used = self._host_memory(conn, memory_mb)
        return HostCounters(
            at=at,
            cpus=cpus,
            cpu_busy_ns=busy,
            cpu_total_ns=total,
            memory_total_bytes=memory_total,
            memory_used_bytes=memory_used,
            domains=domains,
        )

    @staticmethod
    def _host_memory(conn: libvirt.virConnect, memory_mb: int) -> tuple[int, int]:
        try:
            mem = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)  # KiB
        except libvirt.libvirtError:
            mem = {}  # the test driver has no node memory stats: fall back to free memory
        if "total" in mem and "free" in mem:
            total = mem["total"] * 1024
            free = (mem["free"] + mem.get("buffers", 0) + mem.get("cached", 0)) * 1024
            return total, max(total - free, 0)
        total = memory_mb * 2**20
        return total, max(total - conn.getFreeMemory(), 0)
