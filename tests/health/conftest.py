"""Host watcher tests: VMs with real domains on libvirt's test driver, a watcher running in
a thread of the test process, and waiting for conditions with deadlines."""

import gc
import threading
import time
from contextlib import contextmanager

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.watcher import Watcher
from apps.virt import connection
from apps.virt.types import DomainSpec
from apps.vms.models import PowerState, VirtualMachine, VmStatus


@pytest.fixture(autouse=True)
def fresh_connections():
    """Each test starts with a pristine test:///default host (its state dies with the
    process's last connection to it; handles in tracebacks keep it alive: collect them,
    also those an earlier test outside this folder left in a reference cycle)."""
    gc.collect()
    connection.close_all()
    yield
    gc.collect()
    connection.close_all()


def wait_for(condition, timeout, interval=0.05):
    """Poll `condition()` until it is truthy; return its value, or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not true after {timeout} s: {condition.__doc__ or condition}")
        time.sleep(interval)


def make_vm(owner, host, name, *, running=True, **fields):
    """An active VM of the panel with its domain defined (and started) on `host`."""
    vm = VirtualMachine.objects.create(
        name=name,
        owner=owner,
        host=host,
        status=VmStatus.ACTIVE,
        power_state=PowerState.RUNNING if running else PowerState.STOPPED,
        memory_mb=128,
        **fields,
    )
    driver = hypervisor_for(host)
    driver.define(DomainSpec(name=vm.domain_name, uuid=str(vm.uuid), domain_type="qemu", vcpus=1, memory_mb=128))
    if running:
        driver.start(vm.domain_name)
    return vm


def power_of(vm):
    return VirtualMachine.objects.values_list("power_state", flat=True).get(pk=vm.pk)


@contextmanager
def running_watcher(**options):
    """A Watcher in a thread with short timings; stopped (lease released) on exit."""
    settings = {"lease_seconds": 3, "tick_seconds": 0.2, "retry_seconds": 1, "reconcile_seconds": 600, **options}
    watcher = Watcher(**settings)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield watcher
    finally:
        stop.set()
        thread.join(20)
        assert not thread.is_alive(), "the watcher did not stop"
