"""Driver calls and a lost host (apps/virt/outage.py, the contract in apps/virt/driver.py):
a host that stays unreachable fails a call after the window with a clear reason, window 0
fails at once, calls not safe to repeat are never repeated, and the reporter is per
context. Reconnecting after a real outage: tests/multihost/test_outages.py."""

import threading
import time

import pytest

from apps.virt import outage
from apps.virt.driver import Hypervisor
from apps.virt.errors import Unreachable

NOWHERE = "qemu+tcp://127.0.0.1:1/system"  # nothing listens there: connection refused at once


def timed(call):
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        call()
    return str(caught.value), time.monotonic() - started


def test_a_host_that_stays_unreachable_fails_the_call_after_the_window_with_the_reason():
    driver = Hypervisor(NOWHERE, outage_window=2, host_name="far")
    message, elapsed = timed(driver.host_info)
    assert 2 <= elapsed < 4
    assert message.startswith(f"host far unreachable for 2 s: cannot connect to {NOWHERE}: "), message
    assert "Connection refused" in message


def test_window_zero_fails_at_once_as_before():
    message, elapsed = timed(Hypervisor(NOWHERE, host_name="far").host_info)
    assert elapsed < 1
    assert message.startswith(f"host unreachable, cannot connect to {NOWHERE}: "), message


@pytest.mark.parametrize("call", ["reboot", "reset"])
def test_calls_not_safe_to_repeat_fail_at_once_whatever_the_window(call):
    driver = Hypervisor(NOWHERE, outage_window=30, host_name="far")
    message, elapsed = timed(lambda: getattr(driver, call)("vmm-x"))
    assert elapsed < 1
    assert message.startswith("host unreachable, cannot connect to"), message


def test_agent_exec_is_not_repeated_either():
    driver = Hypervisor(NOWHERE, outage_window=30, host_name="far")
    _message, elapsed = timed(lambda: driver.agent_exec("vmm-x", ["true"]))
    assert elapsed < 1


def test_the_reporter_belongs_to_its_context_only():
    heard, elsewhere = [], []
    with outage.reporting_to(heard.append):
        assert outage.reporting()
        thread = threading.Thread(target=lambda: elsewhere.append(outage.reporting()))
        thread.start()
        thread.join()
        outage.report("host far unreachable for 4 s, reconnected")
    assert not outage.reporting()
    outage.report("heard by nobody")
    assert heard == ["host far unreachable for 4 s, reconnected"]
    assert elsewhere == [False]  # a new thread (the watcher's, the collector's) reports nowhere
