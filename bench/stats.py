"""Bench: statistics at scale. 10 simulated hosts x 500 VMs (libvirt test-driver node
files), PostgreSQL holding the panel's 5,000 VMs.

    .venv/bin/python bench/stats.py [--phase 5] [--cycles 24] [--interval 10]

1. One full sweep of all 10 hosts by one collector, storage included (``Collector.sweep``:
   the bulk stats call per host, rates, one COPY of 5,000 VM rows + 10 host rows).
   The first sweep also opens the connections (the test driver parses its node file
   then); the figure is the second, steady-state sweep, the one every interval repeats.
2. The API's p95 latency (a reseller listing 50 VMs through the real URLconf, middleware,
   token auth and serializers) with and without a real ``manage.py collect_stats``
   process sweeping all 5,000 VMs every interval (the default 10 s; ``--interval 1``
   sweeps back to back). It is started once and has stored two sweeps before measuring;
   then short phases alternate many times, so that both see the same machine load (the
   machine is shared, and its load drifts over tens of seconds): "off" phases with the
   process paused (SIGSTOP: it runs nothing and sends no query), "on" phases with it
   running (SIGCONT: it sweeps at once if its interval passed while paused, so "on"
   phases get at least their share of sweeps).

Uses its own database (``<DATABASE_URL's name>_statsbench``), dropped at the end. Last line:

    stats_sweep_s=<n> vms=<n> api_p95_ratio=<n>

where the ratio is p95 with the collector sweeping / p95 without it.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)

BENCH_DB = BenchDatabase("_statsbench")
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=tempfile.mkdtemp(prefix="vmm-bench-"),
    ALLOWED_HOSTS="testserver",
    VMM_API_RATE_USER="1000000/min",
    DEBUG="false",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

HOSTS, VMS_PER_HOST = 10, 500


def populate(node_dir: Path):
    """10 online hosts on node files, 5,000 VMs of 100 customers of one reseller on them."""
    from apps.accounts.models import Role, User
    from apps.accounts.tokens import ApiToken
    from apps.hosts.models import DomainType, Host, HostStatus
    from apps.vms.models import PowerState, VirtualMachine, VmStatus
    from tests.stats.nodefiles import write_node

    reseller = User.objects.create_user("bench-reseller", role=Role.RESELLER)
    customers = User.objects.bulk_create(
        User(username=f"customer-{i:03d}", role=Role.CUSTOMER, reseller=reseller, password="!") for i in range(100)
    )
    vms = []
    for h in range(HOSTS):
        uuids = [uuid.uuid4() for _ in range(VMS_PER_HOST)]
        uri = write_node(node_dir / f"host{h}.xml", [f"vmm-{u}" for u in uuids])
        host = Host.objects.create(name=f"sim-{h}", uri=uri, domain_type=DomainType.QEMU, status=HostStatus.ONLINE)
        vms += [
            VirtualMachine(
                uuid=u,
                name=f"vm-{h}-{i}",
                owner=customers[(h * VMS_PER_HOST + i) % 100],
                host=host,
                status=VmStatus.ACTIVE,
                power_state=PowerState.RUNNING,
                hostname=f"vm-{h}-{i}",
            )  # fmt: skip
            for i, u in enumerate(uuids)
        ]
    VirtualMachine.objects.bulk_create(vms, batch_size=2000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return ApiToken.objects.issue(reseller, "bench")[1]


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def timed_requests(client, token, seconds=None, count=None):
    """Latencies (ms) of the VM list, for ``seconds`` of wall time or ``count`` requests."""
    url = "/api/v1/vms/?page_size=50"
    times = []
    end = time.monotonic() + seconds if seconds else None
    while (end and time.monotonic() < end) or (count and len(times) < count):
        began = time.perf_counter()
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.content[:300]
    return times


def host_rows():
    from apps.stats.models import HostSample

    return HostSample.objects.count()


def start_collector(interval):
    env = {**os.environ, "VMM_STATS_INTERVAL": str(interval)}
    before = host_rows()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "collect_stats", "--name", f"bench-{time.monotonic_ns()}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while host_rows() < before + 2 * HOSTS:  # two full sweeps stored: it is at full speed
        if process.poll() is not None:
            raise SystemExit(f"collector exited: {process.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit("collector did not sweep within 120 s")
        time.sleep(0.2)
    return process, host_rows()


def stop_collector(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", type=float, default=5, help="seconds of API requests per phase")
    parser.add_argument("--cycles", type=int, default=24, help="off/on phase pairs")
    parser.add_argument("--interval", type=int, default=10, help="the collector's interval (default: the product's)")
    args = parser.parse_args()
    BENCH_DB.create()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from apps.stats.collector import Collector

        call_command("migrate", verbosity=0)
        node_dir = Path(tempfile.mkdtemp(prefix="vmm-bench-nodes-"))
        began = time.perf_counter()
        token = populate(node_dir)
        print(f"populated {HOSTS} hosts x {VMS_PER_HOST} VMs in {time.perf_counter() - began:.1f}s")

        collector = Collector(name="bench-inline", interval=10)
        first = collector.sweep()
        second = collector.sweep()
        assert not second.skipped and second.vm_rows == HOSTS * VMS_PER_HOST, second
        print(f"first sweep (opens connections) {first.seconds:.3f}s; steady sweep {second.seconds:.3f}s")
        collector.membership.leave()

        client = Client()
        timed_requests(client, token, count=30)  # warm up
        process, _ = start_collector(args.interval)
        off, on, sweeps = [], [], 0
        try:
            for cycle in range(args.cycles):
                process.send_signal(signal.SIGSTOP)  # off: the collector takes no CPU and sends no query
                off += timed_requests(client, token, seconds=args.phase)
                rows = host_rows()
                process.send_signal(signal.SIGCONT)  # on: it sweeps at once if its interval passed meanwhile
                on += timed_requests(client, token, seconds=args.phase)
                sweeps += (host_rows() - rows) // HOSTS
                if (cycle + 1) % 6 == 0:
                    print(f"cycle {cycle + 1}: p95 off {percentile(off, 95):.2f} ms, on {percentile(on, 95):.2f} ms")
        finally:
            process.send_signal(signal.SIGCONT)
            stop_collector(process)
        print(f"{len(off)} + {len(on)} requests; collector swept {sweeps} times (5,000 VMs each) while 'on'")
        p50_off, p50_on = percentile(off, 50), percentile(on, 50)
        p95_off, p95_on = percentile(off, 95), percentile(on, 95)
        print(f"api_p50_off_ms={p50_off:.2f} api_p50_on_ms={p50_on:.2f}", end=" ")
        print(f"api_p95_off_ms={p95_off:.2f} api_p95_on_ms={p95_on:.2f}")
        print(f"stats_sweep_s={second.seconds:.3f} vms={second.vm_rows} api_p95_ratio={p95_on / p95_off:.3f}")
    finally:
        BENCH_DB.drop()


if __name__ == "__main__":
    main()
