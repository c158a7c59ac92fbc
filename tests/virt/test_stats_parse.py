"""Parsing one entry of ``getAllDomainStats`` into counters: device counters summed over
the devices that report them, memory used from the guest or QEMU's RSS (pure: no libvirt call)."""

import libvirt

from apps.virt.stats import parse_domain_stats
from apps.virt.types import DomainState


def test_block_and_interface_counters_are_summed_over_the_devices_that_report_them():
    stats = {
        "state.state": libvirt.VIR_DOMAIN_RUNNING,
        "cpu.time": 5_000_000_000,
        "vcpu.current": 2,
        "balloon.current": 1_048_576,
        "balloon.available": 1_000_000,
        "balloon.unused": 400_000,
        "balloon.rss": 900_000,
        "block.count": 3,
        "block.0.rd.bytes": 100, "block.0.wr.bytes": 10, "block.0.rd.reqs": 4, "block.0.wr.reqs": 1,
        "block.1.rd.bytes": 50, "block.1.wr.bytes": 5, "block.1.rd.reqs": 2,  # no write requests reported
        "block.2.name": "sdc",  # a CD-ROM without media: no counters at all
        "net.count": 2,
        "net.0.rx.bytes": 1000, "net.0.tx.bytes": 2000, "net.0.rx.pkts": 10, "net.0.tx.pkts": 20,
        "net.1.rx.bytes": 1, "net.1.tx.bytes": 2, "net.1.rx.pkts": 3, "net.1.tx.pkts": 4,
    }  # fmt: skip
    counters = parse_domain_stats("vmm-x", stats)
    assert counters.state == DomainState.RUNNING
    assert (counters.cpu_time_ns, counters.vcpus) == (5_000_000_000, 2)
    assert (counters.disk_read_bytes, counters.disk_write_bytes) == (150, 15)
    assert (counters.disk_read_reqs, counters.disk_write_reqs) == (6, 1)
    assert (counters.net_rx_bytes, counters.net_tx_bytes) == (1001, 2002)
    assert (counters.net_rx_packets, counters.net_tx_packets) == (13, 24)
    assert counters.memory_total_bytes == 1_048_576 * 1024
    assert counters.memory_used_bytes == 600_000 * 1024  # the guest's own view, not QEMU's RSS


def test_a_counter_no_device_reports_is_unknown_not_zero():
    counters = parse_domain_stats(
        "vmm-x",
        {"state.state": libvirt.VIR_DOMAIN_RUNNING, "balloon.rss": 300, "block.count": 1, "block.0.name": "vda"},
    )
    assert counters.disk_read_bytes is None and counters.disk_write_reqs is None
    assert counters.net_rx_bytes is None and counters.net_tx_packets is None  # no interfaces at all
    assert counters.memory_used_bytes == 300 * 1024  # no balloon stats in the guest: QEMU's RSS


def test_a_shut_off_domain_has_its_state_and_no_counters():
    counters = parse_domain_stats("vmm-x", {"state.state": libvirt.VIR_DOMAIN_SHUTOFF})
    assert counters.state == DomainState.SHUTOFF
    assert counters.cpu_time_ns is None and counters.disk_read_bytes is None and counters.net_rx_bytes is None
