"""Rates from two consecutive readings of cumulative counters (pure: no Django, no libvirt).

``vm_values(prev, cur, ...)`` and ``host_values(prev, cur)`` return a dict of the metric
columns of ``apps.stats.models.METRICS`` (``None`` where unknown).

Rules, because counters are not as tidy as they look:
- A rate needs both readings and a positive time between them; otherwise it is ``None``.
- A counter that went DOWN was reset (the VM restarted, a disk was unplugged, the host
  rebooted): the rate for that interval is ``None``, never negative and never a guess;
  the next interval counts again from the new reading.
- CPU % of a VM is of its own vCPUs (100 = all of them busy), clamped to 0..100 because
  the two readings' timestamps are the sweep's, not the exact moments libvirt read them.
"""

from __future__ import annotations

from apps.virt.stats import DomainCounters, HostCounters


def rate(prev: int | None, cur: int | None, seconds: float) -> float | None:
    """Per-second increase of a counter, or ``None`` (missing reading, no time, reset)."""
    if prev is None or cur is None or seconds <= 0 or cur < prev:
        return None
    return (cur - prev) / seconds


def _clamp_pct(value: float | None) -> float | None:
    return None if value is None else min(max(value, 0.0), 100.0)


def cpu_pct(prev_ns: int | None, cur_ns: int | None, seconds: float, cpus: int | None) -> float | None:
    """Share of ``cpus`` CPUs kept busy between two cumulative CPU-time readings (ns)."""
    per_second = rate(prev_ns, cur_ns, seconds)
    if per_second is None or not cpus:
        return None
    return _clamp_pct(per_second / 1e9 / cpus * 100)


def vm_values(
    prev: DomainCounters | None, cur: DomainCounters, seconds: float, vcpus: int | None = None
) -> dict[str, float | None]:
    """The metric columns for one VM. ``prev=None`` (first reading): only memory is known.

    ``vcpus`` is used when the driver does not report the VM's vCPU count itself.
    """
    p = prev or DomainCounters(name=cur.name, state=cur.state)
    return {
        "cpu_pct": cpu_pct(p.cpu_time_ns, cur.cpu_time_ns, seconds, cur.vcpus or vcpus),
        "memory_used_bytes": cur.memory_used_bytes,
        "memory_total_bytes": cur.memory_total_bytes,
        "disk_read_bps": rate(p.disk_read_bytes, cur.disk_read_bytes, seconds),
        "disk_write_bps": rate(p.disk_write_bytes, cur.disk_write_bytes, seconds),
        "disk_read_iops": rate(p.disk_read_reqs, cur.disk_read_reqs, seconds),
        "disk_write_iops": rate(p.disk_write_reqs, cur.disk_write_reqs, seconds),
        "net_rx_bps": rate(p.net_rx_bytes, cur.net_rx_bytes, seconds),
        "net_tx_bps": rate(p.net_tx_bytes, cur.net_tx_bytes, seconds),
        "net_rx_pps": rate(p.net_rx_packets, cur.net_rx_packets, seconds),
        "net_tx_pps": rate(p.net_tx_packets, cur.net_tx_packets, seconds),
    }


_SUMMED = (
    "disk_read_bps",
    "disk_write_bps",
    "disk_read_iops",
    "disk_write_iops",
    "net_rx_bps",
    "net_tx_bps",
    "net_rx_pps",
    "net_tx_pps",
)


def host_values(
    prev: HostCounters | None, cur: HostCounters, vm_rows: list[dict[str, float | None]]
) -> dict[str, float | None]:
    """The metric columns for a host: its own CPU % (of all its CPUs) and memory, and the
    disk and network rates of its VMs summed (``None`` if no VM has that rate)."""
    cpu = None
    if prev is not None:
        busy = rate(prev.cpu_busy_ns, cur.cpu_busy_ns, 1.0)
        total = rate(prev.cpu_total_ns, cur.cpu_total_ns, 1.0)
        if busy is not None and total:
            cpu = _clamp_pct(busy / total * 100)
    values: dict[str, float | None] = {
        "cpu_pct": cpu,
        "memory_used_bytes": cur.memory_used_bytes,
        "memory_total_bytes": cur.memory_total_bytes,
    }
    for column in _SUMMED:
        known = [row[column] for row in vm_rows if row[column] is not None]
        values[column] = sum(known) if known else None
    return values
