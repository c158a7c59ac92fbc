"""The host watcher (apps/hosts/watcher.py; fast tests in tests/health) against two real
libvirt hosts in containers on loopback (scripts/testhosts.sh): the daemon killed, hung (SIGSTOP) and started again,
and a guest destroyed with `virsh` behind the panel's back.

Run under `flock /tmp/vmm-multihost.lock` (other runs start and stop the same containers).
Every test leaves the hosts' libvirtd running, whatever happens.

The guest is the smallest real one: a QEMU process (TCG) with no disk and no NIC, whose
firmware finds nothing to boot and waits. Its lifecycle events are as real as any guest's.
"""

import os
import re
import subprocess
import time

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.virt.errors import NotFound
from apps.vms import placement
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.health.conftest import power_of, running_watcher, wait_for
from tests.live.conftest import connected, receive, session_cookie
from tests.multihost.conftest import testhosts as run_testhosts

pytestmark = [
    pytest.mark.libvirt,
    pytest.mark.multihost,
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.django_db(transaction=True),
]

# What the issue promises for a lost host (keepalive: 5 s x (3 + 1) = 20 s for a hung one).
LOST_WITHIN = 30


@pytest.fixture(scope="module")
def podman_env(container_hosts):
    """The environment podman needs to reach the test hosts (as `testhosts.sh status` says)."""
    status = run_testhosts("status", timeout=120)
    match = re.search(r"^export (.+)$", status.stdout, re.M)
    assert match, status.stdout + status.stderr
    return {**os.environ, **dict(pair.split("=", 1) for pair in match.group(1).split())}


def in_host(podman_env, host, script):
    """Run `script` with sh inside the container of test host `host` (e.g. "host-1")."""
    done = subprocess.run(
        ["podman", "exec", f"vmm-{host.name}", "sh", "-c", script],
        env=podman_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (script, done.stdout, done.stderr)
    return done.stdout


def libvirtd(podman_env, host, signal):
    in_host(podman_env, host, f"kill -{signal} $(cat /run/libvirtd.pid)")


def start_libvirtd(podman_env, host):
    """Start the host's libvirtd unless it runs (what `testhosts.sh up` does for a host)."""
    in_host(
        podman_env,
        host,
        'pid="$(cat /run/libvirtd.pid 2>/dev/null)" && kill -0 "$pid" 2>/dev/null && exit 0; '
        "rm -f /run/libvirtd.pid; libvirtd -d --listen",
    )
    deadline = time.monotonic() + 60
    while subprocess.run(["virsh", "-q", "-c", host.uri, "hostname"], capture_output=True, timeout=30).returncode:
        assert time.monotonic() < deadline, f"libvirtd of {host.name} does not answer again"
        time.sleep(0.2)


def stop_libvirtd(podman_env, host):
    """Stop the host's libvirtd as a package upgrade does (SIGTERM) and wait until it is gone."""
    in_host(
        podman_env,
        host,
        'pid="$(cat /run/libvirtd.pid)"; kill "$pid"; '
        'for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; exit 1',
    )


def virsh(host, *args):
    done = subprocess.run(["virsh", "-q", "-c", host.uri, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (args, done.stderr)


def define_domain(host, vm):
    """Define `vm`'s domain on `host` (not started): 64 MiB, no disk, no NIC."""
    hypervisor_for(host).define(
        f"<domain type='qemu'><name>{vm.domain_name}</name><uuid>{vm.uuid}</uuid><memory unit='MiB'>64</memory>"
        "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os></domain>"
    )


def tiny_vm(owner, host, name):
    """An active VM of the panel whose domain is defined (not started) on `host`."""
    vm = VirtualMachine.objects.create(
        name=name, owner=owner, host=host, status=VmStatus.ACTIVE, power_state=PowerState.UNKNOWN, memory_mb=128
    )
    define_domain(host, vm)
    return vm


def remove_domain(host, vm):
    driver = hypervisor_for(host)
    try:
        if driver.get_domain(vm.domain_name).state != "shutoff":
            driver.destroy(vm.domain_name)
        driver.undefine(vm.domain_name)
    except NotFound:
        pass


def watching(watcher, host):
    """The watcher watches `host`'s events on a live connection and has reconciled it."""
    watch = watcher.watches.get(host.pk)
    live = watch and watch._watch  # read once: the watcher's thread may drop it meanwhile
    return bool(live and watch.synced and live.alive)


def status_of(host):
    return Host.objects.get(pk=host.pk)


def placed_on():
    with transaction.atomic():
        return placement.choose_host(vcpus=1, memory_mb=64, disk_gb=1)


def test_a_killed_libvirtd_makes_the_host_unreachable_and_it_is_watched_again_when_back(
    customer, remote_hosts, podman_env
):
    lost, other = remote_hosts
    vm = tiny_vm(customer, lost, "after-restart")
    try:
        with running_watcher(retry_seconds=1) as watcher:
            wait_for(lambda: watching(watcher, lost), 30)
            started = time.monotonic()
            libvirtd(podman_env, lost, "KILL")
            try:
                host = wait_for(
                    lambda: status_of(lost).status == HostStatus.UNREACHABLE and status_of(lost), LOST_WITHIN
                )
                print(f"killed libvirtd noticed after {time.monotonic() - started:.1f} s")
                assert "Connection lost" in host.status_reason or "cannot connect" in host.status_reason, (
                    host.status_reason
                )
                assert placed_on() == other  # a lost host takes no new VMs
            finally:
                start_libvirtd(podman_env, lost)

            wait_for(lambda: status_of(lost).status == HostStatus.ONLINE, 30)
            wait_for(lambda: watching(watcher, lost), 10)
            # Reconnected means events flow again: a domain defined anew shows up.
            remove_domain(lost, vm)
            wait_for(lambda: power_of(vm) == PowerState.MISSING, 2)
            define_domain(lost, vm)
            wait_for(lambda: power_of(vm) == PowerState.STOPPED, 2)
    finally:
        remove_domain(lost, vm)


def test_a_hung_libvirtd_is_noticed_by_keepalive_and_the_host_is_back_when_it_answers(
    customer, remote_hosts, podman_env
):
    hung, other = remote_hosts
    vm = tiny_vm(customer, other, "next-door")
    try:
        with running_watcher(retry_seconds=1) as watcher:
            wait_for(lambda: watching(watcher, hung) and watching(watcher, other), 30)
            started = time.monotonic()
            libvirtd(podman_env, hung, "STOP")
            try:
                host = wait_for(
                    lambda: status_of(hung).status == HostStatus.UNREACHABLE and status_of(hung), LOST_WITHIN
                )
                print(f"hung libvirtd noticed after {time.monotonic() - started:.1f} s")
                assert "keepalive" in host.status_reason, host.status_reason

                # Its thread is now stuck trying to reconnect; the other host's events still flow.
                wait_for(lambda: watcher.watches[hung.pk].connecting, 10)
                virsh(other, "start", vm.domain_name)
                wait_for(lambda: power_of(vm) == PowerState.RUNNING, 2)
                assert watcher.watches[hung.pk].connecting
                assert status_of(other).status == HostStatus.ONLINE
            finally:
                libvirtd(podman_env, hung, "CONT")
            wait_for(lambda: status_of(hung).status == HostStatus.ONLINE, 30)
            wait_for(lambda: watching(watcher, hung), 10)
    finally:
        remove_domain(other, vm)


@pytest.mark.asyncio
async def test_a_guest_destroyed_with_virsh_shows_stopped_within_2_s_on_an_open_page(customer, remote_hosts):
    host = remote_hosts[1]
    vm = await database_sync_to_async(tiny_vm)(customer, host, "destroyed-behind")
    try:
        await database_sync_to_async(virsh)(host, "start", vm.domain_name)
        cookie = await database_sync_to_async(session_cookie)(customer)
        page = await connected(cookie)
        await page.send_json_to({"action": "subscribe", "vms": [vm.pk]})
        await receive(page)
        with running_watcher() as watcher:
            # The watcher's first reconciliation finds it running (and tells the page).
            await database_sync_to_async(wait_for)(lambda: watching(watcher, host), 30)
            first = await receive(page, timeout=10)
            assert first["vm"]["power_state"] == "running"

            await database_sync_to_async(virsh)(host, "destroy", vm.domain_name)
            destroyed = time.monotonic()

            event = await receive(page, timeout=2)
            assert (event["type"], event["vm"]["id"], event["vm"]["power_state"]) == ("vm.state", vm.pk, "stopped")
            assert await database_sync_to_async(power_of)(vm) == PowerState.STOPPED
            print(f"destroy reached the page after {time.monotonic() - destroyed:.2f} s")
        await page.disconnect()
    finally:
        await database_sync_to_async(remove_domain)(host, vm)
