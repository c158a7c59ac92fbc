"""Bench: 200 browsers watch one job live. Step-commit-to-client latency through the real
path: a job runner in its own process commits each step and publishes it (channels-redis),
daphne processes (`--daphnes`, the clients spread over them in turn) forward it to every
subscribed websocket (apps/live), and the clients here time each message against the moment
its step was committed.

    .venv/bin/python bench/progress.py [--clients 200] [--daphnes 1] [--steps 50] [--interval 0.025] [--ramp S]
        [--client-processes 1] [--jobs 1 --workers 1]

With `--jobs N` the clients watch N jobs (client i watches job i mod N: with N = clients each
browser watches its own order, as customers do) and `--workers W` runner processes run them,
each one job after another as a django-q2 worker does: W jobs run at once. Every browser
stays connected until the last job has ended, so all of them are open throughout.

The clients run in `--client-processes` processes of their own (one Python process reading
thousands of sockets falls behind the servers and measures itself). Issue #19's size:
`--clients 2000 --daphnes 2 --client-processes 4 --ramp 60` (docs/sizing.md); give the
daphnes `DB_CONN_MAX_AGE=60` in the environment, as a production web process would have.

The clients connect over `--ramp` seconds (default: clients/400, at least half a second: a
crowd opening the page); a websocket whose handshake daphne does not finish within its
`websocket_connect_timeout` (5 s) fails the bench.

Loopback only. Uses its own database (`<DATABASE_URL's name>_progress_bench`, dropped at
the end) and REDIS_URL (default redis://127.0.0.1:6379/15). The last line is

    progress_p95_ms=<n> clients=<n> lost=<n>

`lost` counts step events some client never received (each client expects every step's
`running` and `succeeded` event)."""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)

BENCH_DB = BenchDatabase("_progress_bench")
LATE = 30  # seconds after the last job's end after which what a browser has not received is lost
OPERATIONS_DIR = Path(os.environ.get("VMM_BENCH_OPERATIONS_DIR") or tempfile.mkdtemp(prefix="vmm-bench-ops-"))
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=os.environ.get("VMM_BENCH_DATA_DIR") or tempfile.mkdtemp(prefix="vmm-bench-"),
    VMM_OPERATIONS_DIR=str(OPERATIONS_DIR),
    VMM_BENCH_OPERATIONS_DIR=str(OPERATIONS_DIR),
    DEBUG="false",
    LOG_LEVEL="WARNING",
)
os.environ["VMM_BENCH_DATA_DIR"] = os.environ["VMM_DATA_DIR"]
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

# An operation that only records steps, paced like a busy deploy.
OPERATION = """
import time

STEPS = [f"Step {{i}}" for i in range({steps})]


def run(ctx, host, interval=0.025):
    for name in STEPS:
        with ctx.step(name):
            time.sleep(interval)
        time.sleep(interval)
"""


def setup_django():
    import django

    django.setup()


def create_database():
    BENCH_DB.create()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def prepare(steps, jobs):
    """A staff watcher with a session, a host as the target, `jobs` queued jobs. Returns
    (session cookie, job ids)."""
    from django.test import Client

    from apps.accounts.models import Role, User
    from apps.hosts.models import Host
    from apps.jobs import runner

    (OPERATIONS_DIR / "bench_progress.py").write_text(OPERATION.format(steps=steps))
    watcher = User.objects.create_user("bench-watcher", role=Role.ADMIN)
    host = Host.objects.create(name="bench-host", uri="test:///default", status="online")
    job_ids = [str(runner.submit("bench_progress", host, actor=watcher, queue=False).pk) for _ in range(jobs)]
    client = Client()
    client.force_login(watcher)
    return f"sessionid={client.cookies['sessionid'].value}", job_ids


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_daphne(port):
    log = open(Path(os.environ["VMM_DATA_DIR"]) / f"daphne-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "vmmanager.asgi:application"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("daphne did not start")


async def watch(port, cookie, job_id, ready, received, ended, leave):
    """One browser: subscribe, wait for the snapshot, then record (position, status,
    arrival time) of every step event until the job ends; stays connected until `leave`."""
    from websockets.asyncio.client import connect

    headers = {"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"}
    async with connect(f"ws://127.0.0.1:{port}/ws/", additional_headers=headers, max_queue=None, open_timeout=60) as ws:
        await ws.send(json.dumps({"action": "subscribe", "job": job_id}))
        snapshot = json.loads(await ws.recv())
        assert snapshot["type"] == "job.snapshot", snapshot
        ready.release()
        async for raw in ws:
            arrived = time.time()
            message = json.loads(raw)
            if message["type"] == "job.step":
                received.append((message["step"]["position"], message["step"]["status"], arrived))
            elif message["type"] == "job.status" and message["job"]["status"] in ("succeeded", "failed"):
                ended()
                await leave.wait()
                return


async def connect_clients(ports, cookie, job_ids, clients, ramp, first=0):
    """`clients` browsers (numbered from `first`, spread over `ports` and `job_ids` in turn),
    connected over `ramp` seconds; returns once each has its snapshot: (tasks, received per
    client, the event on which they all leave). Set once every one of them has seen its job
    end, or by the caller."""
    ready = asyncio.Semaphore(0)
    received = [[] for _ in range(clients)]
    leave = asyncio.Event()
    left = [clients]

    def ended():
        left[0] -= 1
        if not left[0]:
            leave.set()

    tasks = []
    for i in range(clients):
        port = ports[(first + i) % len(ports)]
        job_id = job_ids[(first + i) % len(job_ids)]
        tasks.append(asyncio.create_task(watch(port, cookie, job_id, ready, received[i], ended, leave)))
        if i % 20 == 19:
            await asyncio.sleep(ramp * 20 / clients)  # a crowd opening the page within `ramp` seconds
    for _ in range(clients):
        await asyncio.wait_for(ready.acquire(), timeout=60)
    return tasks, received, leave


async def finish(tasks, timeout=10):
    await asyncio.wait(tasks, timeout=timeout)
    for task in tasks:
        task.cancel()


async def client_process(ports, cookie, job_ids, clients, ramp, first, out):
    """One of `--client-processes`: its share of the browsers; prints "ready" once they all
    have their snapshot, writes what they received to `out` once their jobs have ended, or
    on SIGUSR1 (the parent's word that the jobs ended some time ago: what a browser has not
    received by then is lost)."""
    tasks, received, leave = await connect_clients(ports, cookie, job_ids, clients, ramp, first)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, leave.set)
    print("ready", flush=True)
    await leave.wait()
    await finish(tasks, timeout=10)
    Path(out).write_text(json.dumps(received))


async def run_clients(ports, cookie, job_ids, clients, interval, ramp, processes, workers):
    """The browsers in `processes` processes of their own (2,000 sockets' frames are more than
    one Python process can read as fast as the servers send them: the bench's own client side
    was what lagged), then the jobs, `workers` at a time; returns (received per client,
    commits files)."""
    data = Path(os.environ["VMM_DATA_DIR"])
    jobs_file = data / "jobs.json"
    jobs_file.write_text(json.dumps(job_ids))
    shares = [clients // processes + (n < clients % processes) for n in range(processes)]
    children, outs, first = [], [], 0
    for n, share in enumerate(shares):
        outs.append(data / f"received-{n}.json")
        children.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--client-share",
                ",".join(map(str, ports)),
                cookie,
                str(jobs_file),
                str(share),
                str(ramp),
                str(first),
                str(outs[-1]),
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
        )
        first += share
    for child in children:
        line = await asyncio.wait_for(child.stdout.readline(), timeout=ramp + 120)
        if line.strip() != b"ready":
            raise SystemExit("a client process failed to connect its browsers")
    commits, publishers = [], []
    for n in range(workers):
        commits.append(data / f"commits-{n}.jsonl")
        share = data / f"worker-{n}.json"
        share.write_text(json.dumps(job_ids[n::workers]))
        publishers.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--publish",
                str(share),
                "--record",
                str(commits[-1]),
                "--interval",
                str(interval),
                cwd=ROOT,
            )  # fmt: skip
        )
    for publisher in publishers:
        await publisher.wait()
    # Every event has been sent; a browser that has not seen its job end within LATE seconds
    # never will (its losses are counted).
    await asyncio.wait([asyncio.create_task(child.wait()) for child in children], timeout=LATE)
    for child in children:
        if child.returncode is None:
            child.send_signal(signal.SIGUSR1)
        await child.wait()
    received = []
    for out in outs:
        received += [[tuple(m) for m in messages] for messages in json.loads(out.read_text())]
    return received, commits


def publish(jobs_file, record, interval):
    """A worker's side: run its jobs here one after another, noting when each step was
    committed."""
    from apps.jobs import runner, signals
    from apps.jobs.models import Job

    job_ids = json.loads(Path(jobs_file).read_text())
    Job.objects.filter(pk__in=job_ids).update(params={"interval": interval})
    with open(record, "w") as out:

        def committed(sender, job, step, **kwargs):
            # Autocommit: the step row is committed when save() returns, just before this.
            out.write(json.dumps([str(job.pk), step.position, step.status, time.time()]) + "\n")

        signals.step_changed.connect(committed, weak=False)
        for job_id in job_ids:
            runner.execute(job_id)


def cpu_seconds(pid):
    """User + system CPU time process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(received, commits, job_ids, clients, steps):
    committed = {}
    for path in commits:
        for line in path.read_text().splitlines():
            job_id, position, status, at = json.loads(line)
            committed.setdefault((job_id, position, status), at)
    latencies, lost = [], 0
    expected = {(p, s) for p in range(1, steps + 1) for s in ("running", "succeeded")}
    for i, messages in enumerate(received):
        job_id = job_ids[i % len(job_ids)]
        seen = set()
        for position, status, arrived in messages:
            if (job_id, position, status) in committed and (position, status) not in seen:
                seen.add((position, status))
                latencies.append((arrived - committed[(job_id, position, status)]) * 1000)
        lost += len(expected - seen)
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else float("nan")
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    print(f"{len(latencies)} step events to {clients} clients of {len(job_ids)} job(s), {steps} steps x 2 each")
    print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {max(latencies, default=0):.1f}")
    print(f"progress_p95_ms={round(p95)} clients={clients} lost={lost}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--daphnes", type=int, default=1, help="daphne processes, the clients spread over them")
    parser.add_argument("--ramp", type=float, help="seconds over which the clients connect (default: clients/400)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.025, help="seconds per step, and between steps")
    parser.add_argument(
        "--client-processes", type=int, default=1, help="processes the clients are spread over (default 1)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="jobs the clients watch, client i job i mod N (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="runner processes, each one job at a time (default 1)")
    parser.add_argument("--publish", help=argparse.SUPPRESS)
    parser.add_argument("--record", help=argparse.SUPPRESS)
    parser.add_argument("--client-share", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_share:
        ports, cookie, jobs_file, clients, ramp, first, out = args.client_share
        ports = [int(port) for port in ports.split(",")]
        job_ids = json.loads(Path(jobs_file).read_text())
        asyncio.run(client_process(ports, cookie, job_ids, int(clients), float(ramp), int(first), out))
        return
    setup_django()
    if args.publish:
        publish(args.publish, args.record, args.interval)
        return
    create_database()
    daphnes = []
    try:
        cookie, job_ids = prepare(args.steps, args.jobs)
        ports = [free_port() for _ in range(args.daphnes)]
        daphnes = [start_daphne(port) for port in ports]
        ramp = args.ramp if args.ramp is not None else max(0.5, args.clients / 400)
        received, commits = asyncio.run(
            run_clients(ports, cookie, job_ids, args.clients, args.interval, ramp, args.client_processes, args.workers)
        )
        cpu = [cpu_seconds(daphne.pid) for daphne in daphnes]
        print("daphne CPU seconds (handshakes and the job): " + ", ".join(f"{c:.1f}" for c in cpu))
        report(received, commits, job_ids, args.clients, args.steps)
    finally:
        for daphne in daphnes:
            daphne.terminate()
            daphne.wait(timeout=15)
        BENCH_DB.drop()


if __name__ == "__main__":
    main()
