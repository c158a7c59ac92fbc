"""The bulk statistics call against the real local libvirtd (qemu:///system): a tiny TCG
guest's counters come back from one getAllDomainStats call, and two sweeps give rates."""

import time

import pytest

from apps.stats.rates import vm_values
from apps.virt.types import DiskSpec, DomainSpec, DomainState
from tests.virt.test_driver_real import MiB, hv, sandbox, tiny_guest, wait_for_marker  # noqa: F401 - fixtures

pytestmark = pytest.mark.libvirt


def test_one_bulk_call_reads_a_running_guests_counters_and_two_give_rates(hv, sandbox, tiny_guest):  # noqa: F811
    prefix, workdir = sandbox
    kernel, initrd = tiny_guest
    pool = f"{prefix}-pool"
    hv.ensure_pool(pool, f"{workdir}/pool")
    disk = hv.create_volume(pool, f"{prefix}-disk.qcow2", 64 * MiB)
    name, log = f"{prefix}-vm", f"{workdir}/serial.log"
    hv.define(
        DomainSpec(
            name=name, domain_type="qemu", vcpus=1, memory_mb=256, kernel=kernel, initrd=initrd,
            cmdline="console=ttyS0 panic=-1", serial_log_path=log, disks=(DiskSpec(disk.path),),
        )
    )  # fmt: skip
    hv.start(name)
    wait_for_marker(log)

    first = hv.sweep_stats()
    time.sleep(1.0)  # let the guest's CPU time grow between the two readings
    second = hv.sweep_stats()

    before = next(d for d in first.domains if d.name == name)
    after = next(d for d in second.domains if d.name == name)
    assert after.state == DomainState.RUNNING and after.vcpus == 1
    assert after.memory_total_bytes == 256 * MiB and after.memory_used_bytes > 0
    assert after.disk_read_bytes is not None and after.disk_read_reqs is not None  # the virtio disk
    assert after.cpu_time_ns > before.cpu_time_ns > 0
    assert second.cpus >= 1 and second.cpu_total_ns > first.cpu_total_ns
    assert 0 < second.memory_used_bytes < second.memory_total_bytes

    values = vm_values(before, after, second.at - first.at)
    assert 0 < values["cpu_pct"] <= 100
    assert values["disk_read_bps"] is not None and values["disk_read_bps"] >= 0
