"""Rates from pairs of counter readings, as the graphs and /metrics show them."""

import pytest

from apps.stats.models import METRICS
from apps.stats.rates import cpu_pct, host_values, rate, vm_values
from apps.virt.stats import DomainCounters, HostCounters
from apps.virt.types import DomainState

GiB = 2**30


def reading(**counters):
    return DomainCounters(name="vmm-x", state=DomainState.RUNNING, **counters)


FULL = dict(
    cpu_time_ns=0,
    vcpus=2,
    memory_total_bytes=2 * GiB,
    memory_used_bytes=GiB,
    disk_read_bytes=0,
    disk_write_bytes=0,
    disk_read_reqs=0,
    disk_write_reqs=0,
    net_rx_bytes=0,
    net_tx_bytes=0,
    net_rx_packets=0,
    net_tx_packets=0,
)


def test_a_counter_that_grows_gives_its_increase_per_second():
    assert rate(1_000, 21_000, 10.0) == 2_000.0


def test_a_counter_that_went_down_was_reset_and_gives_no_rate_rather_than_a_negative_one():
    assert rate(5_000_000, 1_200, 10.0) is None


def test_no_rate_without_a_previous_reading_or_without_time_between_the_two():
    assert rate(None, 10, 10.0) is None
    assert rate(10, None, 10.0) is None
    assert rate(10, 20, 0.0) is None


def test_cpu_percent_is_of_the_vms_own_vcpus():
    # 10 s of wall time, 10 s of CPU time on a 2-vCPU VM: half of it busy.
    assert cpu_pct(0, 10 * 10**9, 10.0, 2) == pytest.approx(50.0)
    assert cpu_pct(0, 10 * 10**9, 10.0, 1) == pytest.approx(100.0)


def test_cpu_percent_is_clamped_when_readings_are_slightly_off():
    assert cpu_pct(0, 11 * 10**9, 10.0, 1) == 100.0


def test_vm_values_from_two_sweeps():
    before = reading(**FULL)
    after = reading(
        **{
            **FULL,
            "cpu_time_ns": 5 * 10**9,
            "disk_read_bytes": 40_960,
            "disk_write_bytes": 81_920,
            "disk_read_reqs": 10,
            "disk_write_reqs": 20,
            "net_rx_bytes": 15_000,
            "net_tx_bytes": 3_000,
            "net_rx_packets": 100,
            "net_tx_packets": 30,
            "memory_used_bytes": GiB + 2**20,
        }
    )
    values = vm_values(before, after, 10.0)
    assert values == {
        "cpu_pct": pytest.approx(25.0),
        "memory_used_bytes": GiB + 2**20,
        "memory_total_bytes": 2 * GiB,
        "disk_read_bps": 4096.0,
        "disk_write_bps": 8192.0,
        "disk_read_iops": 1.0,
        "disk_write_iops": 2.0,
        "net_rx_bps": 1500.0,
        "net_tx_bps": 300.0,
        "net_rx_pps": 10.0,
        "net_tx_pps": 3.0,
    }


def test_after_a_vm_restart_its_rates_are_unknown_for_that_interval_then_count_again():
    running = reading(**{**FULL, "cpu_time_ns": 900 * 10**9, "disk_read_bytes": 10**9, "net_rx_bytes": 10**8})
    restarted = reading(**{**FULL, "cpu_time_ns": 2 * 10**9, "disk_read_bytes": 4096, "net_rx_bytes": 600})
    values = vm_values(running, restarted, 10.0)
    assert values["cpu_pct"] is None and values["disk_read_bps"] is None and values["net_rx_bps"] is None
    assert all(v is None or v >= 0 for v in values.values())
    assert values["memory_used_bytes"] == GiB  # a level, not a counter: still known
    later = reading(**{**FULL, "cpu_time_ns": 4 * 10**9, "disk_read_bytes": 8192, "net_rx_bytes": 1600})
    again = vm_values(restarted, later, 10.0)
    assert again["cpu_pct"] == pytest.approx(10.0) and again["disk_read_bps"] == 409.6 and again["net_rx_bps"] == 100


def test_first_reading_has_memory_but_no_rates():
    values = vm_values(None, reading(**FULL), 0.0)
    assert values["memory_used_bytes"] == GiB
    assert {k for k, v in values.items() if v is not None} == {"memory_used_bytes", "memory_total_bytes"}


def test_vcpus_from_the_panel_are_used_when_the_driver_does_not_report_them():
    before, after = reading(cpu_time_ns=0), reading(cpu_time_ns=3 * 10**9)
    assert vm_values(before, after, 10.0, vcpus=3)["cpu_pct"] == pytest.approx(10.0)
    assert vm_values(before, after, 10.0)["cpu_pct"] is None  # no vCPU count at all: no percentage


def host(at, busy, total, domains=()):
    return HostCounters(
        at=at, cpus=4, cpu_busy_ns=busy, cpu_total_ns=total,
        memory_total_bytes=64 * GiB, memory_used_bytes=10 * GiB, domains=tuple(domains),
    )  # fmt: skip


def test_host_cpu_is_busy_time_over_all_time_and_disk_and_network_are_its_vms_summed():
    vm_rows = [
        {**dict.fromkeys(METRICS), "disk_read_bps": 100.0, "net_tx_bps": 5.0},
        {**dict.fromkeys(METRICS), "disk_read_bps": 50.0, "net_tx_bps": None},
    ]
    values = host_values(host(0, 1_000, 10_000), host(10, 4_000, 22_000), vm_rows)
    assert values["cpu_pct"] == pytest.approx(25.0)
    assert values["memory_used_bytes"] == 10 * GiB
    assert values["disk_read_bps"] == 150.0 and values["net_tx_bps"] == 5.0
    assert values["disk_write_bps"] is None  # no VM knows it


def test_host_reboot_resets_its_cpu_counters_and_gives_no_cpu_rate():
    assert host_values(host(0, 9_000, 90_000), host(10, 100, 1_000), [])["cpu_pct"] is None
