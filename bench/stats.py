"""Bench: statistics at scale. ``--hosts`` simulated hosts (default 50) x ``--vms-per-host``
VMs (default 1,000: libvirt test-driver node files), PostgreSQL holding the panel's VMs
(50,000 by default), swept by ``--collectors`` real collector processes (default 2): the
size of issue #19.

    .venv/bin/python bench/stats.py [--hosts 50] [--vms-per-host 1000] [--collectors 2]
        [--phase 5] [--cycles 24] [--interval 10] [--profile] [--apart]

``--apart`` confines the collectors and the PostgreSQL backends serving them (found by their
application_name) to the machine's last core, as if the statistics had a machine of their
own; the API's side is left as it is.

1. One full sweep of all hosts by ONE in-process collector, storage included
   (``Collector.sweep``: the bulk stats call per host, rates, one COPY of all VM rows and
   host rows). The first sweep also opens the connections (the test driver parses its
   node file then); the figure is the second, steady-state sweep, the one every interval
   repeats. ``--profile`` then profiles a third sweep with cProfile (main thread: the VM
   query, rates, COPY) and the hosts' bulk calls one after another in the main thread
   (in a sweep they run in the pool's threads, which cProfile does not see), and prints
   both tables.
2. ``--collectors`` real ``manage.py collect_stats`` processes share the hosts (rendezvous
   hashing and leases, docs/stats.md "Several collectors"); they are started once and
   have each stored two sweeps of their share before measuring. Then short phases
   alternate many times, so that both see the same machine load (the machine is shared,
   and its load drifts over tens of seconds): "off" phases with every collector paused
   (SIGSTOP: they run nothing and send no query), "on" phases with them running
   (SIGCONT: each sweeps at once if its interval passed while paused, so "on" phases get
   at least their share of sweeps). Throughout, the API's p95 latency is measured (a
   reseller listing 50 VMs through the real URLconf, middleware, token auth and
   serializers); the ratio is p95 "on" / p95 "off".
3. The interval sweep: how long, wall clock, the collectors together take to sweep every
   host once. It comes from their own logs (``LOG_LEVEL=DEBUG`` for them: each sweep's
   end time, to the millisecond, with its duration and its count of hosts and VMs). All
   collectors are resumed by the same SIGCONT, and at the default interval each starts
   its sweep right then; for every "on" phase in which each collector started one sweep
   after that SIGCONT and those sweeps' hosts add up to all of them (else the phase is
   counted as incomplete), the interval sweep is the slowest of those sweeps (start =
   end - duration), less any time it spent paused (a sweep longer than an "on" phase runs
   on in the next one): running side by side, the collectors have swept every VM by then.
   Each collector keeps its own interval, so they do not start at the same moment (a
   sweep that began late stays late): the span from the first start to the last end,
   which includes that offset, is printed too. ``interval_sweep_s`` is the median over
   those phases, ``interval_sweep_max_s`` the slowest. (That no host is stored twice in
   an interval is for tests/stats/test_sharding.py to show, not this bench.)

Uses its own database (``<DATABASE_URL's name>_statsbench``), dropped at the end. Last line:

    stats_sweep_s=<n> vms=<n> api_p95_ratio=<n> collectors=<n> interval_sweep_s=<n>
        interval_sweep_max_s=<n> collectors_cpu_s=<n>

(one line).

where ``stats_sweep_s`` is one collector's steady sweep of every VM (step 1), the ratio
is p95 with the collectors sweeping / p95 without them, and ``collectors_cpu_s`` the CPU
time (user + system, all threads, from ``/proc/<pid>/stat``) the collectors together
spent per sweep of every VM while measured: the figure the machine's other load does not
change. The collectors run niced (``VMM_STATS_NICE``, default 10; ``--nice`` overrides it):
on a machine busy with other work they get little CPU, and their sweeps stretch.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
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

SWEEP_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) DEBUG .*"
    r"statistics: (\d+) hosts, (\d+) VMs in ([\d.]+) s \((\d+) skipped\)"
)


def populate(node_dir: Path, hosts: int, per_host: int):
    """``hosts`` online hosts on node files, ``per_host`` VMs each, of 100 customers of one reseller."""
    from apps.accounts.models import Role, User
    from apps.accounts.tokens import ApiToken
    from apps.hosts.models import DomainType, Host, HostStatus
    from apps.vms.models import PowerState, VirtualMachine, VmStatus
    from tests.stats.nodefiles import write_node

    reseller = User.objects.create_user("bench-reseller", role=Role.RESELLER)
    customers = User.objects.bulk_create(
        User(username=f"customer-{i:03d}", role=Role.CUSTOMER, reseller=reseller, password="!") for i in range(100)
    )
    for h in range(hosts):
        uuids = [uuid.uuid4() for _ in range(per_host)]
        uri = write_node(node_dir / f"host{h}.xml", [f"vmm-{u}" for u in uuids])
        host = Host.objects.create(name=f"sim-{h}", uri=uri, domain_type=DomainType.QEMU, status=HostStatus.ONLINE)
        VirtualMachine.objects.bulk_create(
            [
                VirtualMachine(
                    uuid=u,
                    name=f"vm-{h}-{i}",
                    owner=customers[(h * per_host + i) % 100],
                    host=host,
                    status=VmStatus.ACTIVE,
                    power_state=PowerState.RUNNING,
                    hostname=f"vm-{h}-{i}",
                )  # fmt: skip
                for i, u in enumerate(uuids)
            ],
            batch_size=2000,
        )
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


def profile_sweep(collector, hosts):
    """cProfile tables: one steady sweep (main thread), then every host's bulk call in turn."""
    from apps.hosts.hypervisor import hypervisor_for

    for title, work in (
        ("one steady sweep (main thread; the bulk calls run in pool threads)", collector.sweep),
        ("the hosts' bulk calls, one after another in the main thread",
         lambda: [hypervisor_for(h).sweep_stats() for h in hosts]),
    ):  # fmt: skip
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.runcall(work)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
        print(f"--- profile: {title}: {time.perf_counter() - began:.3f}s under the profiler")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


COLLECTOR_APP = "vmm-bench-collector"  # the collectors' application_name in pg_stat_activity (PGAPPNAME)


def confine(processes, cpu):
    """``--apart``: the collectors and the PostgreSQL backends serving them on core ``cpu``
    only, as if they had a machine of their own; the rest of the machine is as it was."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [COLLECTOR_APP])
        backends = [pid for (pid,) in cursor.fetchall()]
    for pid in [process.pid for process in processes.values()] + backends:
        try:
            os.sched_setaffinity(pid, {cpu})
        except ProcessLookupError:
            pass  # a backend that has just ended
    return len(backends)


def start_collectors(count, interval, log_dir: Path, nice=None):
    """``count`` collector processes, once each holds hosts and has stored two sweeps of them."""
    from apps.hosts.models import Host
    from apps.stats.models import Lease
    from apps.stats.sharding import host_key

    env = {**os.environ, "VMM_STATS_INTERVAL": str(interval), "LOG_LEVEL": "DEBUG", "PGAPPNAME": COLLECTOR_APP}
    if nice is not None:
        env["VMM_STATS_NICE"] = str(nice)
    names = [f"bench-{n}-{time.monotonic_ns()}" for n in range(count)]
    processes, logs = {}, {}
    for name in names:
        logs[name] = log_dir / f"{name}.log"
        processes[name] = subprocess.Popen(
            [sys.executable, "manage.py", "collect_stats", "--name", name],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(logs[name], "w"),
        )  # fmt: skip
    keys = [host_key(pk) for pk in Host.objects.values_list("pk", flat=True)]
    deadline = time.monotonic() + 180
    shared_at = None
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"collector {name} exited: {logs[name].read_text()[-2000:]}")
        if time.monotonic() > deadline:
            for process in processes.values():
                process.kill()
            raise SystemExit("the collectors did not share the hosts and sweep them within 180 s")
        owners = list(Lease.objects.filter(key__in=keys).values_list("owner", flat=True))
        if shared_at is None and len(owners) == len(keys) and set(owners) == set(names):
            shared_at = host_rows()  # every host leased, every collector holding some
        if shared_at is not None and host_rows() >= shared_at + 2 * len(keys):
            return processes, logs, {name: owners.count(name) for name in names}
        time.sleep(0.2)


def cpu_seconds(process):
    """User + system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_collectors(processes):
    for process in processes.values():
        process.send_signal(signal.SIGCONT)
        process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sweeps_from_log(path: Path):
    """(start, end, hosts, vms) of every sweep the collector logged (epoch seconds)."""
    sweeps = []
    for line in path.read_text().splitlines():
        match = SWEEP_LINE.match(line)
        if match:
            end = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            sweeps.append((end - float(match[4]), end, int(match[2]), int(match[3])))
    return sweeps


def interval_sweeps(logs, stopped_at, resumed_at, hosts, vms):
    """Wall-clock seconds of each "on" phase's sweep of every host by all the collectors
    together (see the module docstring), the number of phases left incomplete, and each
    counted sweep's start after the SIGCONT and its duration."""
    per_collector = [sweeps_from_log(path) for path in logs.values()]
    spans, incomplete, lags, durations = [], 0, [], []
    paused = list(zip(stopped_at, resumed_at, strict=True))

    def running(start, end):  # wall time between start and end, less the time the collectors were paused
        return end - start - sum(max(0.0, min(end, b) - max(start, a)) for a, b in paused)

    for i, cont in enumerate(resumed_at):
        until = stopped_at[i + 1] if i + 1 < len(stopped_at) else float("inf")
        firsts = []
        for sweeps in per_collector:
            started = [s for s in sweeps if cont - 0.05 <= s[0] < until]  # log times are to the ms
            if started:
                firsts.append(started[0])
        covered = (sum(s[2] for s in firsts), sum(s[3] for s in firsts))
        if len(firsts) == len(per_collector) and covered == (hosts, vms):
            spans.append(
                (
                    max(running(s[0], s[1]) for s in firsts),
                    running(min(s[0] for s in firsts), max(s[1] for s in firsts)),
                )
            )
            lags += [s[0] - cont for s in firsts]
            durations += [running(s[0], s[1]) for s in firsts]
        else:
            incomplete += 1
    return spans, incomplete, lags, durations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=50, help="simulated hosts")
    parser.add_argument("--vms-per-host", type=int, default=1000, help="VMs on each host")
    parser.add_argument("--collectors", type=int, default=2, help="collector processes sharing the hosts")
    parser.add_argument("--phase", type=float, default=5, help="seconds of API requests per phase")
    parser.add_argument("--cycles", type=int, default=24, help="off/on phase pairs")
    parser.add_argument("--interval", type=int, default=10, help="the collectors' interval (default: the product's)")
    parser.add_argument("--nice", type=int, help="the collectors' VMM_STATS_NICE (default: the product's, 10)")
    parser.add_argument("--profile", action="store_true", help="profile one steady sweep and the bulk calls")
    parser.add_argument(
        "--apart",
        action="store_true",
        help="the collectors and their PostgreSQL backends on one core of their own (the machine's last)",
    )
    args = parser.parse_args()
    total = args.hosts * args.vms_per_host
    BENCH_DB.create()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from apps.hosts.models import Host
        from apps.stats.collector import Collector
        from apps.stats.models import HostSample

        call_command("migrate", verbosity=0)
        node_dir = Path(tempfile.mkdtemp(prefix="vmm-bench-nodes-"))
        began = time.perf_counter()
        token = populate(node_dir, args.hosts, args.vms_per_host)
        print(f"populated {args.hosts} hosts x {args.vms_per_host} VMs in {time.perf_counter() - began:.1f}s")

        collector = Collector(name="bench-inline", interval=max(args.interval, 30))
        first = collector.sweep()
        second = collector.sweep()
        assert not second.skipped and second.vm_rows == total, second
        print(f"one collector: first sweep (opens connections) {first.seconds:.3f}s; steady {second.seconds:.3f}s")
        if args.profile:
            profile_sweep(collector, list(Host.objects.all()))
        collector.membership.leave()

        client = Client()
        timed_requests(client, token, count=30)  # warm up
        log_dir = Path(tempfile.mkdtemp(prefix="vmm-bench-collectors-"))
        processes, logs, split = start_collectors(args.collectors, args.interval, log_dir, args.nice)
        print(f"{args.collectors} collectors hold {sorted(split.values(), reverse=True)} hosts")
        stats_cpu = max(os.sched_getaffinity(0)) if args.apart else None
        if args.apart:
            print(f"--apart: the collectors and {confine(processes, stats_cpu)} PostgreSQL backends on CPU {stats_cpu}")
        off, on, sweeps, stopped_at, resumed_at = [], [], 0, [], []
        measured_from = datetime.now(tz=UTC)
        cpu_before = sum(cpu_seconds(p) for p in processes.values())
        try:
            for cycle in range(args.cycles):
                stopped_at.append(time.time())
                for process in processes.values():  # off: no CPU taken, no query sent
                    process.send_signal(signal.SIGSTOP)
                off += timed_requests(client, token, seconds=args.phase)
                rows = host_rows()
                resumed_at.append(time.time())
                if args.apart:
                    confine(processes, stats_cpu)  # a connection the collectors opened since
                for process in processes.values():  # on: each sweeps at once if its interval passed
                    process.send_signal(signal.SIGCONT)
                on += timed_requests(client, token, seconds=args.phase)
                sweeps += (host_rows() - rows) / args.hosts
                if (cycle + 1) % 6 == 0:
                    print(f"cycle {cycle + 1}: p95 off {percentile(off, 95):.2f} ms, on {percentile(on, 95):.2f} ms")
            cpu_used = sum(cpu_seconds(p) for p in processes.values()) - cpu_before
        finally:
            stop_collectors(processes)
        print(f"{len(off)} + {len(on)} requests; the collectors swept all {total:,} VMs {sweeps:.1f} times while 'on'")
        cpu_per_sweep = cpu_used / sweeps if sweeps else float("nan")
        print(
            f"the collectors used {cpu_used:.1f} s of CPU: {cpu_per_sweep:.2f} s per sweep of every VM (all together)"
        )
        counts = {}
        for pk in HostSample.objects.filter(at__gte=measured_from).values_list("host_id", flat=True):
            counts[pk] = counts.get(pk, 0) + 1
        print(
            f"host rows while measuring: {min(counts.values())}..{max(counts.values())} per host, {len(counts)} hosts"
        )
        spans, incomplete, lags, durations = interval_sweeps(logs, stopped_at, resumed_at, args.hosts, total)
        if not spans:
            raise SystemExit(f"no 'on' phase with a complete sweep by every collector ({incomplete} incomplete)")
        spans, offset_spans = [side for side, _ in spans], [span for _, span in spans]
        print(
            f"interval sweeps ({len(spans)} phases, {incomplete} incomplete): "
            f"median {statistics.median(spans):.3f}s, max {max(spans):.3f}s; each collector's sweep "
            f"median {statistics.median(durations):.3f}s, max {max(durations):.3f}s, "
            f"starting {statistics.median(lags):.3f}s after SIGCONT (median); first start to last end "
            f"median {statistics.median(offset_spans):.3f}s"
        )
        p50_off, p50_on = percentile(off, 50), percentile(on, 50)
        p95_off, p95_on = percentile(off, 95), percentile(on, 95)
        print(f"api_p50_off_ms={p50_off:.2f} api_p50_on_ms={p50_on:.2f}", end=" ")
        print(f"api_p95_off_ms={p95_off:.2f} api_p95_on_ms={p95_on:.2f}")
        print(
            f"stats_sweep_s={second.seconds:.3f} vms={second.vm_rows} api_p95_ratio={p95_on / p95_off:.3f} "
            f"collectors={args.collectors} interval_sweep_s={statistics.median(spans):.3f} "
            f"interval_sweep_max_s={max(spans):.3f} collectors_cpu_s={cpu_per_sweep:.2f}"
        )
    finally:
        BENCH_DB.drop()


if __name__ == "__main__":
    main()
