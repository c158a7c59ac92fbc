"""Bench: how fast the host watcher notices what happens on real hosts. The watcher is a real
`manage.py watch_hosts` process with its default timings (keepalive 5 s x 3, reconnect every
5 s, reconciliation every 60 s). The hosts are the two test hosts in containers on loopback
(scripts/testhosts.sh).

- event: a guest is destroyed behind the panel's back (from this process's own libvirt
  connection). The time is measured from the destroy call until the VM's `vm.state` message
  ("stopped") is on the channel layer, which is what open pages receive. The watcher
  publishes after committing the row, so the row is updated by then too. This is done for
  `--rounds` rounds; each round starts the guest again first. The time the destroy call
  itself takes (libvirt stops QEMU) is reported too: the event cannot come before the guest
  is gone.
- killed: libvirtd killed (SIGKILL) until the host is `unreachable`; then restarted until it is
  `online` again.
- hung: libvirtd stopped (SIGSTOP) until `unreachable` (keepalive); SIGCONT until `online`.

    .venv/bin/python bench/health.py [--rounds 20]

It takes /tmp/vmm-multihost.lock itself (do not wrap it in `flock` on that file), starts the
test hosts (`testhosts.sh up 2`) and removes them at the end. It uses its own database
(`<DATABASE_URL's name>_health_bench`, dropped at the end) and REDIS_URL (default
redis://127.0.0.1:6379/15). The guest has no disk and no NIC: a QEMU process whose firmware
finds nothing to boot. The last line is

    event_p95_ms=<n> event_max_ms=<n> destroy_call_p50_ms=<n> killed_s=<x> back_after_kill_s=<x>
    hung_s=<x> back_after_hang_s=<x>

(one line; `killed_s` is counted from the moment `podman exec kill` returns, so 0.0 means the
loss was already recorded by then).
"""

import argparse
import asyncio
import fcntl
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)
from testhosts import in_container, podman_env, testhosts  # noqa: E402

BENCH_DB = BenchDatabase("_health_bench")
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=os.environ.get("VMM_BENCH_DATA_DIR") or tempfile.mkdtemp(prefix="vmm-bench-"),
    DEBUG="false",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def create_database():
    import django

    BENCH_DB.create()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def wait_status(host, status, timeout):
    """Seconds until `host` has `status` (polled every 20 ms)."""
    from apps.hosts.models import Host

    started = time.monotonic()
    while Host.objects.get(pk=host.pk).status != status:
        if time.monotonic() - started > timeout:
            sys.exit(f"{host.name} not {status} after {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


async def next_state(layer, channel, state, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        message = await asyncio.wait_for(layer.receive(channel), max(0.01, deadline - time.monotonic()))
        if message.get("type") == "vm.state" and message["vm"]["power_state"] == state:
            return time.monotonic()


async def event_rounds(vm, driver, rounds):
    from channels.layers import get_channel_layer

    from apps.live.publish import vm_group

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(vm_group(vm.pk), channel)
    latencies, calls = [], []
    for _ in range(rounds):
        driver.start(vm.domain_name)
        await next_state(layer, channel, "running")
        destroying = time.monotonic()
        driver.destroy(vm.domain_name)
        calls.append((time.monotonic() - destroying) * 1000)
        latencies.append((await next_state(layer, channel, "stopped") - destroying) * 1000)
    await layer.group_discard(vm_group(vm.pk), channel)
    return latencies, calls


def run(rounds):
    from apps.accounts.models import Role, User
    from apps.hosts.hypervisor import hypervisor_for
    from apps.hosts.models import DomainType, Host, HostStatus
    from apps.virt import connection
    from apps.vms.models import PowerState, VirtualMachine, VmStatus

    env = podman_env()
    hosts = []
    for line in testhosts("up", "2").splitlines():
        name, uri = line.split()
        hosts.append(
            Host.objects.create(
                name=name, uri=uri, domain_type=DomainType.QEMU, network="", status=HostStatus.UNREACHABLE
            )
        )
    owner = User.objects.create_user("bench-owner", password="pw-bench-1", role=Role.CUSTOMER)
    host = hosts[0]
    vm = VirtualMachine.objects.create(
        name="bench", owner=owner, host=host, status=VmStatus.ACTIVE, power_state=PowerState.UNKNOWN, memory_mb=128
    )
    driver = hypervisor_for(host)
    driver.define(
        f"<domain type='qemu'><name>{vm.domain_name}</name><uuid>{vm.uuid}</uuid><memory unit='MiB'>64</memory>"
        "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os></domain>"
    )
    log = open(Path(os.environ["VMM_DATA_DIR"]) / "watcher.log", "w")  # noqa: SIM115 - closed below
    watcher = subprocess.Popen(
        [sys.executable, "manage.py", "watch_hosts"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        for h in hosts:
            wait_status(h, HostStatus.ONLINE, 120)
        time.sleep(1)  # let the watcher finish its first reconciliation (not timed)
        latencies, calls = asyncio.run(event_rounds(vm, driver, rounds))
        driver.undefine(vm.domain_name)
        # From here on only the watcher has a connection: this process's own close callback
        # would mark the host unreachable too and take the credit.
        connection.close_all()

        pidfile = "$(cat /run/libvirtd.pid)"
        in_container(env, host.name, f"kill -KILL {pidfile}")
        killed = wait_status(host, HostStatus.UNREACHABLE, 60)
        in_container(env, host.name, "rm -f /run/libvirtd.pid; libvirtd -d --listen")
        back_after_kill = wait_status(host, HostStatus.ONLINE, 60)

        in_container(env, host.name, f"kill -STOP {pidfile}")
        try:
            hung = wait_status(host, HostStatus.UNREACHABLE, 60)
        finally:
            in_container(env, host.name, f"kill -CONT {pidfile}")
        back_after_hang = wait_status(host, HostStatus.ONLINE, 60)
    finally:
        watcher.terminate()
        watcher.wait(30)
        log.close()
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(
        f"event to channel layer, {len(latencies)} rounds: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms "
        f"(the destroy call itself, p50: {statistics.median(calls):.1f} ms)"
    )
    print(f"killed libvirtd: unreachable after {killed:.1f} s, online {back_after_kill:.1f} s after its restart")
    print(f"hung libvirtd: unreachable after {hung:.1f} s, online {back_after_hang:.1f} s after SIGCONT")
    print(
        f"event_p95_ms={round(p95)} event_max_ms={round(latencies[-1])} "
        f"destroy_call_p50_ms={round(statistics.median(calls))} killed_s={killed:.1f} "
        f"back_after_kill_s={back_after_kill:.1f} hung_s={hung:.1f} back_after_hang_s={back_after_hang:.1f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with open("/tmp/vmm-multihost.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other runs start and stop the same containers
        create_database()
        try:
            run(args.rounds)
        finally:
            BENCH_DB.drop()
            testhosts("down")


if __name__ == "__main__":
    main()
