"""Bench: a burst of VM operations on many hosts. 50 simulated hosts (libvirt's test driver,
each its own node file of running domains) carry 500 VMs; one VM operation per VM
(`vm_reboot`, the real operation module and driver call) is asked for at once through the
service both doors use, then a second one on every tenth VM while its first is still
queued or running. A real django-q2 cluster (`manage.py qcluster`, VMM_WORKERS processes)
on Redis runs them.

    .venv/bin/python bench/jobs.py [--hosts 50] [--vms 500] [--workers 4]

Checks that every job finishes, that a second operation is refused while its VM's first is
queued or running (one operation at a time per VM: the service names the running job), and
that no VM ever had two jobs running at once (from the jobs' start and finish times).
Reports the queue wait (queued to started) and the burst's total time. Loopback only. Uses
its own database (`<DATABASE_URL's name>_jobs_bench`, dropped at the end) and REDIS_URL (default redis://127.0.0.1:6379/15,
flushed first). The last line is

    jobs=<n> succeeded=<n> failed=<n> refused_second=<n> overlaps=<n> queue_wait_p50_s=<x>
    queue_wait_p95_s=<x> run_p95_s=<x> total_s=<x>

(one line).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)

BENCH_DB = BenchDatabase("_jobs_bench")
DATA_DIR = Path(tempfile.mkdtemp(prefix="vmm-bench-jobs-"))
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=str(DATA_DIR),
    DEBUG="false",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

DOMAIN = """  <domain type='test'>
    <name>{name}</name><uuid>{uuid}</uuid>
    <memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
  </domain>
"""
NODE = """<node>
  <cpu><mhz>2400</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets>
       <cores>32</cores><threads>2</threads><active>64</active></cpu>
  <memory>268435456</memory>
{domains}</node>
"""


def create_database():
    import django

    BENCH_DB.create()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def prepare(hosts, vms):
    """Hosts (each a node file of running domains) and their VMs, one customer's. Returns the
    customer and the VMs."""
    from apps.accounts.models import Role, User
    from apps.hosts.models import Host, HostStatus
    from apps.vms.models import PowerState, VirtualMachine, VmStatus

    customer = User.objects.create_user("bench-customer", role=Role.CUSTOMER)
    made = []
    for h in range(hosts):
        mine = [uuid.uuid4() for _ in range(h, vms, hosts)]
        node = DATA_DIR / f"host-{h}.xml"
        domains = "".join(DOMAIN.format(name=f"vmm-{u}", uuid=u) for u in mine)
        node.write_text(NODE.format(domains=domains))
        host = Host.objects.create(name=f"sim-{h}", uri=f"test://{node}", domain_type="qemu", status=HostStatus.ONLINE)
        for i, u in enumerate(mine):
            made.append(
                VirtualMachine(
                    name=f"vm-{h}-{i}",
                    uuid=u,
                    owner=customer,
                    host=host,
                    status=VmStatus.ACTIVE,
                    power_state=PowerState.RUNNING,
                )
            )
    return customer, VirtualMachine.objects.bulk_create(made)


def start_cluster(workers):
    """A django-q2 cluster, once it reports its workers ready (so its start-up is not counted)."""
    from django_q.status import Stat

    log = open(DATA_DIR / "qcluster.log", "w")
    env = {**os.environ, "VMM_WORKERS": str(workers)}
    proc = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"qcluster exited:\n{(DATA_DIR / 'qcluster.log').read_text()[-3000:]}")
        if any(len(stat.workers) >= workers for stat in Stat.get_all()):
            return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the cluster did not start")


def burst(customer, vms):
    """Ask for one reboot per VM, then a second on every tenth VM: refused while the first is
    queued or running, accepted (and run) if it has finished. Returns (jobs, refused)."""
    from apps.jobs.runner import TargetBusy
    from apps.vms.services import vm_operation

    jobs = [vm_operation(vm, "vm_reboot", actor=customer) for vm in vms]
    refused = 0
    for vm in vms[::10]:
        try:
            jobs.append(vm_operation(vm, "vm_reboot", actor=customer))  # its first one had finished
        except TargetBusy:
            refused += 1
    return jobs, refused


def wait_all(job_ids, timeout):
    from apps.jobs.models import Job, JobStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = Job.objects.filter(pk__in=job_ids, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).count()
        if not left:
            return True
        time.sleep(0.5)
    return False


def overlaps(jobs):
    """How many pairs of one VM's jobs ran at the same time."""
    by_vm = {}
    for job in jobs:
        if job.started_at and job.finished_at:
            by_vm.setdefault(job.target_id, []).append((job.started_at, job.finished_at))
    count = 0
    for spans in by_vm.values():
        spans.sort()
        count += sum(1 for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1])
    return count


def percentile(values, fraction):
    values = sorted(values)
    return values[int(fraction * (len(values) - 1))] if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--vms", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    subprocess.run(["redis-cli", "-u", os.environ["REDIS_URL"], "FLUSHDB"], capture_output=True, check=False)
    create_database()
    cluster = None
    try:
        customer, vms = prepare(args.hosts, args.vms)
        cluster = start_cluster(args.workers)
        started = time.monotonic()
        jobs, refused = burst(customer, vms)
        asked = time.monotonic() - started
        done = wait_all([j.pk for j in jobs], args.timeout)
        total = time.monotonic() - started
        from apps.jobs.models import Job, JobStatus

        finished = list(Job.objects.filter(pk__in=[j.pk for j in jobs]))
        waits = [(j.started_at - j.created_at).total_seconds() for j in finished if j.started_at]
        runs = [(j.finished_at - j.started_at).total_seconds() for j in finished if j.finished_at and j.started_at]
        succeeded = sum(j.status == JobStatus.SUCCEEDED for j in finished)
        failed = sum(j.status == JobStatus.FAILED for j in finished)
        errors = {j.error for j in finished if j.status == JobStatus.FAILED}
        print(f"{len(jobs)} operations on {args.hosts} hosts asked for in {asked:.1f} s ({refused} second ones "
              f"refused: their VM's first was still queued or running); all finished: {done}")  # fmt: skip
        print(f"{args.workers} worker processes; queue wait p50 {statistics.median(waits):.2f} s, "
              f"p95 {percentile(waits, 0.95):.2f} s, max {max(waits):.2f} s")  # fmt: skip
        if errors:
            print("failures:", "; ".join(sorted(errors))[:2000])
        print(
            f"jobs={len(jobs)} succeeded={succeeded} failed={failed} refused_second={refused} "
            f"overlaps={overlaps(finished)} queue_wait_p50_s={statistics.median(waits):.2f} "
            f"queue_wait_p95_s={percentile(waits, 0.95):.2f} run_p95_s={percentile(runs, 0.95):.3f} "
            f"total_s={total:.1f}"
        )
    finally:
        if cluster is not None:
            cluster.terminate()
            try:
                cluster.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cluster.kill()
        BENCH_DB.drop()


if __name__ == "__main__":
    main()
