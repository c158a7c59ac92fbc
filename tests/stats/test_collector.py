"""One collector sweeping simulated hosts: one row per VM and per host, failing hosts
skipped without stopping the others, host health left alone."""

import socket
import threading
import time

import pytest

from apps.hosts.models import Host, HostStatus
from apps.stats.collector import Collector
from apps.stats.models import HostSample, Tier, VmSample

pytestmark = pytest.mark.django_db


def test_a_sweep_stores_one_raw_row_per_vm_and_one_per_host(node_host):
    host_a, vms_a = node_host("a", vms=3)
    host_b, vms_b = node_host("b", vms=2)
    result = Collector(name="c1", interval=5).sweep()
    assert result.hosts == [host_a.pk, host_b.pk] and result.skipped == {} and result.vm_rows == 5
    stored = set(VmSample.objects.filter(tier=Tier.RAW).values_list("vm_id", "host_id"))
    assert stored == {(vm.pk, host_a.pk) for vm in vms_a} | {(vm.pk, host_b.pk) for vm in vms_b}
    assert set(HostSample.objects.values_list("host_id", flat=True)) == {host_a.pk, host_b.pk}
    host_row = HostSample.objects.get(host_id=host_a.pk)
    assert host_row.memory_total_bytes == 2**40  # the node file's memory, read from the host


def test_domains_that_are_not_the_panels_vms_are_ignored(node_host):
    host, vms = node_host("a", vms=1, foreign=["someone-elses-guest", "vmm-not-a-known-uuid"])
    result = Collector(name="c1", interval=5).sweep()
    assert result.vm_rows == 1
    assert list(VmSample.objects.values_list("vm_id", flat=True)) == [vms[0].pk]


def test_a_second_sweep_uses_the_first_as_the_previous_reading(node_host):
    host, _ = node_host("a", vms=1)
    collector = Collector(name="c1", interval=5)
    collector.sweep()
    collector.sweep()
    rows = list(HostSample.objects.filter(host_id=host.pk).order_by("at"))
    assert len(rows) == 2 and rows[0].at < rows[1].at
    assert rows[0].cpu_pct is None  # first reading: no rate yet


def test_an_unreachable_host_is_skipped_and_logged_and_the_others_are_stored(node_host, caplog):
    good, vms = node_host("good", vms=2)
    bad = Host.objects.create(name="gone", uri="qemu+tcp://127.0.0.1:1/system", status=HostStatus.ONLINE)
    began = time.monotonic()
    result = Collector(name="c1", interval=5).sweep()
    assert time.monotonic() - began < 5
    assert result.hosts == [good.pk] and set(result.skipped) == {bad.pk}
    assert "127.0.0.1:1" in result.skipped[bad.pk]
    assert VmSample.objects.filter(host_id=good.pk).count() == 2
    assert any("gone" in r.getMessage() or str(bad.pk) in r.getMessage() for r in caplog.records)
    bad.refresh_from_db()
    assert bad.status == HostStatus.ONLINE and bad.status_reason == ""  # health is the watcher's business


def test_hosts_that_are_not_online_are_not_swept(node_host):
    online, _ = node_host("on", vms=1)
    node_host("maint", vms=1, status=HostStatus.MAINTENANCE)
    node_host("down", vms=1, status=HostStatus.UNREACHABLE)
    assert Collector(name="c1", interval=5).sweep().hosts == [online.pk]


@pytest.fixture
def silent_host():
    """A TCP port on loopback that accepts connections and never says a word: a libvirtd
    that hangs. Closing it (at teardown) lets the stuck calls fail."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"qemu+tcp://127.0.0.1:{server.getsockname()[1]}/system"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_host_that_does_not_answer_in_time_is_skipped_without_holding_up_the_sweep(node_host, silent_host):
    """A hung host costs the sweep at most the host timeout; the next sweep does not ask
    it again while the first call is still stuck."""
    quick, _ = node_host("quick", vms=1)
    stuck = Host.objects.create(name="stuck", uri=silent_host, status=HostStatus.ONLINE)
    collector = Collector(name="c1", interval=5, host_timeout=0.5)
    began = time.monotonic()
    first = collector.sweep()
    assert time.monotonic() - began < 3
    assert first.hosts == [quick.pk] and "no answer within 0.5 s" in first.skipped[stuck.pk]
    second = collector.sweep()
    assert second.hosts == [quick.pk] and "has not returned" in second.skipped[stuck.pk]
    assert VmSample.objects.filter(host_id=quick.pk).count() == 2


@pytest.mark.django_db(transaction=True)  # run() opens fresh connections after a failed sweep
def test_run_sweeps_every_interval_and_frees_its_hosts_on_the_way_out(node_host):
    from apps.stats.models import Collector as Heartbeat
    from apps.stats.models import Lease

    host, _ = node_host("a", vms=1)
    collector = Collector(name="c1", interval=0.2)
    began = time.monotonic()
    collector.run(sweeps=3)
    assert time.monotonic() - began >= 0.4  # two waits between three sweeps
    assert HostSample.objects.filter(host_id=host.pk).count() == 3
    assert not Lease.objects.filter(owner="c1").exists() and not Heartbeat.objects.filter(name="c1").exists()
