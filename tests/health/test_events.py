"""Lifecycle events from the driver: what libvirt's codes mean, and that they arrive."""

import queue
import threading
import time

import libvirt
import pytest

from apps.virt import connection
from apps.virt.driver import Hypervisor
from apps.virt.events import lifecycle_event
from apps.virt.types import DomainSpec, DomainState

URI = "test:///default"


@pytest.mark.parametrize(
    ("event", "detail", "name", "detail_name", "state"),
    [
        (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED, "started", "booted", "running"),
        (
            libvirt.VIR_DOMAIN_EVENT_STOPPED,
            libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED,
            "stopped",
            "destroyed",
            "shutoff",
        ),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, "stopped", "shutdown", "shutoff"),
        # QEMU died: crashed, not a clean stop.
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED, "stopped", "crashed", "crashed"),
        (libvirt.VIR_DOMAIN_EVENT_CRASHED, libvirt.VIR_DOMAIN_EVENT_CRASHED_PANICKED, "crashed", "panicked", "crashed"),
        (
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
            libvirt.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED,
            "suspended",
            "paused",
            "paused",
        ),
        (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, "resumed", "unpaused", "running"),
        (libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED, 0, "pmsuspended", "0", "pmsuspended"),
        # These do not say the state: the watcher reads it (or finds the domain gone).
        (libvirt.VIR_DOMAIN_EVENT_UNDEFINED, libvirt.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, "undefined", "removed", None),
        (libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED, "defined", "added", None),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_MIGRATED, "stopped", "migrated", None),
        (libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, 0, "shutdown", "0", None),
        (99, 3, "event-99", "3", None),  # a code newer than this code
    ],
)
def test_lifecycle_codes_map_to_what_happened_and_the_state_after(event, detail, name, detail_name, state):
    got = lifecycle_event(URI, event, detail, "vmm-1", "u-1")
    assert (got.event, got.detail, got.state) == (name, detail_name, state)
    assert (got.uri, got.name, got.uuid) == (URI, "vmm-1", "u-1")


def drain(events, timeout=2):
    """Everything queued until nothing more arrives for `timeout` s."""
    got = []
    while True:
        try:
            got.append(events.get(timeout=timeout))
        except queue.Empty:
            return got


def test_events_of_a_domain_arrive_in_order_until_the_watch_is_cancelled():
    hv = Hypervisor(URI)
    events = queue.Queue()
    watch = hv.watch_lifecycle(events.put)
    spec = DomainSpec(name="vmm-events", domain_type="qemu", vcpus=1, memory_mb=64)

    hv.define(spec)
    hv.start(spec.name)
    hv.destroy(spec.name)
    hv.undefine(spec.name)

    got = drain(events, timeout=1)
    assert [(e.name, e.event, e.detail, e.state) for e in got] == [
        ("vmm-events", "defined", "added", None),
        ("vmm-events", "started", "booted", DomainState.RUNNING),
        ("vmm-events", "stopped", "destroyed", DomainState.SHUTOFF),
        ("vmm-events", "undefined", "removed", None),
    ]
    assert watch.alive

    watch.cancel()
    watch.cancel()  # idempotent
    hv.define(spec)
    assert drain(events, timeout=0.5) == []
    hv.undefine(spec.name)


def test_a_watch_is_dead_once_its_connection_is_gone():
    hv = Hypervisor(URI)
    watch = hv.watch_lifecycle(lambda event: None)
    assert watch.alive

    connection.close_all()
    assert not watch.alive
    watch.cancel()  # quiet on a closed connection


def test_closing_a_watched_connection_really_closes_it():
    hv = Hypervisor(URI)
    hv.watch_lifecycle(lambda event: None)  # never cancelled: the connection goes first

    # A registration left on it would keep the connection open inside libvirt for the life
    # of the process (and, for test:///, its state). libvirt says how many references remain;
    # asking that, rather than whether test:///default's state was reset, holds whatever other
    # connections to it this process has open. No event is being delivered here: see below.
    assert connection.close_all() == 0


def test_a_watched_connection_closed_while_an_event_is_delivered_is_released_once_it_is():
    hv = Hypervisor(URI)
    delivering, release = threading.Event(), threading.Event()

    def slow(event):
        delivering.set()
        release.wait(10)

    hv.watch_lifecycle(slow)
    hv.destroy("test")
    assert delivering.wait(5)
    # libvirt holds the connection while its event loop delivers to the registration (it
    # only marks it deleted), so the close leaves one reference: it cannot say 0 yet.
    assert connection.close_all() == 1
    release.set()

    def reset():
        """test:///default's state reset: the closed connection went with the delivery"""
        state = Hypervisor(URI).get_domain("test").state
        connection.close_all()
        return state == DomainState.RUNNING

    deadline = time.monotonic() + 5
    while not reset():
        assert time.monotonic() < deadline, "the connection closed mid-delivery was never released"
        time.sleep(0.05)


def test_one_listing_gives_every_domains_state():
    hv = Hypervisor(URI)
    hv.define(DomainSpec(name="vmm-off", domain_type="qemu", vcpus=1, memory_mb=64))
    assert hv.domain_states() == {"test": DomainState.RUNNING, "vmm-off": DomainState.SHUTOFF}
    hv.undefine("vmm-off")
