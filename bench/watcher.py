"""Bench: the host watcher at issue #19's size. `--hosts` simulated hosts (libvirt's test
driver, each its own node file of `--vms-per-host` running domains, default 50 x 20) watched
by the real `Watcher` (apps/hosts/watcher.py: one thread per host, libvirt lifecycle events,
the leader lease, reconciliation at the product's default interval) in a thread of this
process. The test driver keeps a host's state in the process's one connection to it
(apps/virt/connection.py), so the guests are destroyed behind the panel's back from here,
through the same connection the watcher listens on, as `virsh destroy` would on a real host.

Each round destroys a guest on a host picked in turn (start again and settled in between)
and times from the destroy call until the VM's `vm.state` "stopped" message is on the
channel layer (Redis): what every open page watching the VM receives (apps/live; bench/
progress.py times the layer-to-browser part). The watcher publishes after committing the
row.

    .venv/bin/python bench/watcher.py [--hosts 50] [--vms-per-host 20] [--rounds 100]

Uses its own database (`<DATABASE_URL's name>_watcher_bench`, dropped at the end) and
REDIS_URL (default redis://127.0.0.1:6379/15). The last line is

    hosts=<n> vms=<n> watched_s=<x> event_p50_ms=<n> event_p95_ms=<n> event_max_ms=<n> rounds=<n>

(`watched_s`: from the watcher's start until every host is online and reconciled).
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)

BENCH_DB = BenchDatabase("_watcher_bench")
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=tempfile.mkdtemp(prefix="vmm-bench-"),
    DEBUG="false",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def populate(node_dir, hosts, per_host):
    """Online hosts on node files, `per_host` running VMs each. Returns [(host, [vm, ...])]."""
    from apps.accounts.models import Role, User
    from apps.hosts.models import DomainType, Host, HostStatus
    from apps.vms.models import PowerState, VirtualMachine, VmStatus
    from tests.stats.nodefiles import write_node

    owner = User.objects.create_user("bench-owner", role=Role.CUSTOMER)
    made = []
    for h in range(hosts):
        uuids = [uuid.uuid4() for _ in range(per_host)]
        uri = write_node(node_dir / f"host{h}.xml", [f"vmm-{u}" for u in uuids])
        host = Host.objects.create(
            name=f"sim-{h}", uri=uri, domain_type=DomainType.QEMU, network="", status=HostStatus.UNREACHABLE
        )
        vms = VirtualMachine.objects.bulk_create(
            VirtualMachine(uuid=u, name=f"vm-{h}-{i}", owner=owner, host=host, status=VmStatus.ACTIVE,
                           power_state=PowerState.RUNNING, memory_mb=512)
            for i, u in enumerate(uuids)
        )  # fmt: skip
        made.append((host, vms))
    return made


def wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            from apps.hosts.models import Host

            sys.exit(
                f"not within {timeout} s: {what}: {list(Host.objects.values_list('name', 'status', 'status_reason'))}"
            )
        time.sleep(0.05)


async def next_state(layer, channel, vm_id, state, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        message = await asyncio.wait_for(layer.receive(channel), max(0.01, deadline - time.monotonic()))
        if message.get("type") == "vm.state" and message["vm"]["id"] == vm_id and message["vm"]["power_state"] == state:
            return time.monotonic()


async def rounds(placed, count):
    """Destroy a guest on each host in turn; (latencies in ms, destroy call times in ms)."""
    from channels.layers import get_channel_layer

    from apps.hosts.hypervisor import hypervisor_for
    from apps.live.publish import vm_group

    layer = get_channel_layer()
    channel = await layer.new_channel()
    latencies, calls = [], []
    for n in range(count):
        host, vms = placed[n % len(placed)]
        vm = vms[(n // len(placed)) % len(vms)]
        driver = hypervisor_for(host)
        await layer.group_add(vm_group(vm.pk), channel)
        destroying = time.monotonic()
        await asyncio.to_thread(driver.destroy, vm.domain_name)
        calls.append((time.monotonic() - destroying) * 1000)
        latencies.append((await next_state(layer, channel, vm.pk, "stopped") - destroying) * 1000)
        await asyncio.to_thread(driver.start, vm.domain_name)
        await next_state(layer, channel, vm.pk, "running")
        await layer.group_discard(vm_group(vm.pk), channel)
    return latencies, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--vms-per-host", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    BENCH_DB.create()
    stop = threading.Event()
    thread = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from apps.hosts.models import Host, HostStatus
        from apps.hosts.watcher import Watcher

        call_command("migrate", verbosity=0)
        placed = populate(Path(tempfile.mkdtemp(prefix="vmm-bench-nodes-")), args.hosts, args.vms_per_host)
        watcher = Watcher()
        began = time.monotonic()
        thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
        thread.start()
        wait(
            lambda: (
                Host.objects.filter(status=HostStatus.ONLINE).count() == args.hosts
                and len(watcher.watches) == args.hosts
                and all(w.synced for w in list(watcher.watches.values()))
            ),
            120,
            "every host online and reconciled",
        )
        watched = time.monotonic() - began
        print(f"{args.hosts} hosts x {args.vms_per_host} VMs online and reconciled {watched:.1f} s after the start")
        latencies, calls = asyncio.run(rounds(placed, args.rounds))
        latencies.sort()
        p50, p95 = statistics.median(latencies), latencies[max(0, round(0.95 * len(latencies)) - 1)]
        print(
            f"event to channel layer, {len(latencies)} rounds over {min(args.rounds, args.hosts)} hosts: "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms "
            f"(the destroy call itself, p50: {statistics.median(calls):.1f} ms)"
        )
        print(
            f"hosts={args.hosts} vms={args.hosts * args.vms_per_host} watched_s={watched:.1f} "
            f"event_p50_ms={round(p50)} event_p95_ms={round(p95)} event_max_ms={round(latencies[-1])} "
            f"rounds={len(latencies)}"
        )
    finally:
        stop.set()
        if thread is not None:
            thread.join(30)  # it releases its lease in the database before the database goes
        BENCH_DB.drop()


if __name__ == "__main__":
    main()
