"""Monthly traffic totals from the collector's interface counters (apps/stats/traffic.py):
growth counted, a counter reset (the VM restarted) counted from zero and never negative, a
VM that moved host counted once, the first reading a baseline, late readings skipped, the
month boundary at the provider's time zone; and the collector storing the readings."""

from datetime import UTC, date, datetime, timedelta

import pytest

from apps.stats import traffic
from apps.stats.collector import Collector
from apps.stats.models import TrafficCounter, TrafficMonth, TrafficReading
from apps.virt.stats import DomainCounters, HostCounters
from apps.virt.types import DomainState

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


def read(vm_id, seconds, rx, tx, host_id=1):
    TrafficReading.objects.create(
        vm_id=vm_id, host_id=host_id, at=T0 + timedelta(seconds=seconds), rx_bytes=rx, tx_bytes=tx
    )


def totals():
    return {(row.vm_id, row.month): (row.rx_bytes, row.tx_bytes) for row in TrafficMonth.objects.all()}


def test_an_increase_is_never_negative():
    assert traffic.increase(100, 150, same_host=True) == 50
    assert traffic.increase(100, 30, same_host=True) == 30  # reset: counted from zero
    assert traffic.increase(100, 500, same_host=False) == 500  # moved: its new counters started at zero


def test_the_first_reading_is_a_baseline_and_growth_is_counted():
    read(7, 0, 1_000_000, 5_000)  # counters of a VM running before counting began: not billed
    read(7, 10, 1_000_400, 5_100)
    read(7, 20, 1_001_000, 5_300)
    assert traffic.count(LATER) == 3
    assert totals() == {(7, date(2026, 3, 1)): (1_000, 300)}
    assert TrafficReading.objects.count() == 0
    last = TrafficCounter.objects.get(vm_id=7)
    assert (last.rx_bytes, last.tx_bytes, last.at) == (1_001_000, 5_300, T0 + timedelta(seconds=20))


def test_a_restart_counts_from_zero_and_rounds_add_up():
    read(7, 0, 5_000, 5_000)
    read(7, 10, 6_000, 5_500)
    traffic.count(LATER)
    read(7, 20, 300, 200)  # restarted: counters back near zero
    read(7, 30, 900, 250)
    traffic.count(LATER)
    assert totals() == {(7, date(2026, 3, 1)): (1_000 + 300 + 600, 500 + 200 + 50)}


def test_a_vm_that_moved_host_is_counted_once():
    read(7, 0, 10_000, 10_000, host_id=1)
    read(7, 10, 12_000, 11_000, host_id=1)
    read(7, 20, 15_000, 12_000, host_id=2)  # on the new host its counters started from zero
    read(7, 30, 16_000, 12_500, host_id=2)
    traffic.count(LATER)
    assert totals() == {(7, date(2026, 3, 1)): (2_000 + 15_000 + 1_000, 1_000 + 12_000 + 500)}


def test_readings_stored_late_are_skipped_and_fresh_ones_wait():
    read(7, 0, 100, 100)
    read(7, 20, 300, 300)
    traffic.count(LATER)
    read(7, 10, 250, 250)  # a sweep that committed after its interval was counted
    read(7, 3600 - 5, 400, 400)  # younger than the settle time at LATER
    assert traffic.count(LATER, settle=timedelta(seconds=30)) == 1
    assert totals() == {(7, date(2026, 3, 1)): (200, 200)}
    assert list(TrafficReading.objects.values_list("rx_bytes", flat=True)) == [400]


def test_the_month_ends_at_midnight_in_the_billing_time_zone(settings):
    settings.VMM_BILLING_TIME_ZONE = "Asia/Novosibirsk"  # UTC+7
    end = datetime(2026, 3, 31, 16, 50, tzinfo=UTC)  # 23:50 on 31 March in Novosibirsk
    for minutes, rx in ((0, 1_000), (5, 1_500), (15, 2_100), (20, 2_600)):  # 23:50, 23:55, 00:05, 00:10
        TrafficReading.objects.create(vm_id=9, host_id=1, at=end + timedelta(minutes=minutes), rx_bytes=rx, tx_bytes=0)
    traffic.count(end + timedelta(hours=1))
    assert totals() == {(9, date(2026, 3, 1)): (500, 0), (9, date(2026, 4, 1)): (1_100, 0)}
    assert traffic.month_of(datetime(2026, 3, 31, 17, 0, tzinfo=UTC)) == date(2026, 4, 1)
    assert traffic.month_of(datetime(2026, 3, 31, 16, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert traffic.month_start(date(2026, 4, 1)) == datetime(2026, 3, 31, 17, 0, tzinfo=UTC)


def test_vms_are_counted_apart_and_totals_read_back():
    for vm in (1, 2):
        read(vm, 0, 0, 0)
        read(vm, 10, 100 * vm, 10 * vm)
    traffic.count(LATER)
    assert traffic.totals([date(2026, 3, 1)]) == {(1, date(2026, 3, 1)): (100, 10), (2, date(2026, 3, 1)): (200, 20)}
    assert traffic.totals([date(2026, 3, 1)], vm_ids=[2]) == {(2, date(2026, 3, 1)): (200, 20)}


def test_the_collector_stores_each_vms_byte_counters(node_host):
    _host, vms = node_host("a", vms=1)
    collector = Collector(name="c1", interval=5)
    counters = HostCounters(
        at=T0.timestamp(), cpus=4, cpu_busy_ns=None, cpu_total_ns=None, memory_total_bytes=None,
        memory_used_bytes=None,
        domains=(
            DomainCounters(name=f"vmm-{vms[0].uuid}", state=DomainState.RUNNING, net_rx_bytes=7, net_tx_bytes=9),
            DomainCounters(name="vmm-stopped", state=DomainState.SHUTOFF),
        ),
    )  # fmt: skip
    known = {f"vmm-{vms[0].uuid}": (vms[0].pk, 1), "vmm-stopped": (999, 1)}
    _rows, _host_row, readings = collector._rows(5, counters, known)
    assert readings == [(vms[0].pk, 5, T0, 7, 9)]  # a shut-off VM has no counters: no reading


def test_the_collector_holding_maintenance_counts_the_readings(node_host):
    _host, vms = node_host("a", vms=1)
    earlier = datetime.now(tz=UTC) - timedelta(hours=1)
    for seconds, rx in ((0, 100), (10, 600)):
        TrafficReading.objects.create(
            vm_id=vms[0].pk, host_id=1, at=earlier + timedelta(seconds=seconds), rx_bytes=rx, tx_bytes=rx
        )
    result = Collector(name="c1", interval=5).sweep()
    assert result.maintenance["traffic_readings"] == 2
    assert totals() == {(vms[0].pk, traffic.month_of(earlier + timedelta(seconds=10))): (500, 500)}
