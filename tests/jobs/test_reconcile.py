"""Jobs whose worker died are settled: failed with the step they died in, cleaned up,
their VM released and in a definite state."""

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.db.models.functions import Now
from django.utils import timezone

from apps.hosts.models import Host, HostStatus
from apps.jobs import runner, tasks
from apps.jobs.heartbeat import beat, machine
from apps.jobs.models import Job, JobStatus, StepStatus, Worker
from apps.jobs.reconcile import reconcile
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.vms.factories import vm_with_domain

ROOT = Path(__file__).resolve().parents[2]


def dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def running_job(vm, kind, worker, step_name, started_at=None):
    job = runner.submit(kind, vm, queue=False)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, worker=worker, started_at=started_at or timezone.now()
    )
    job.steps.create(position=1, name="Choose a host", status=StepStatus.SUCCEEDED)
    job.steps.create(position=2, name=step_name, status=StepStatus.RUNNING, started_at=timezone.now())
    job.steps.create(position=3, name="Later", status=StepStatus.PENDING)
    job.refresh_from_db()
    return job


def test_a_job_whose_worker_was_killed_fails_at_its_step_and_is_cleaned_up(customer, test_host):
    vm = vm_with_domain(customer, test_host)  # as if the deploy had defined and started it
    job = running_job(vm, "vm_create", f"{machine()}:{dead_pid()}", "Wait for the guest to come up")

    assert reconcile() == 1

    job.refresh_from_db()
    vm.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "during “Wait for the guest to come up”" in job.error
    assert [s.status for s in job.steps.all()] == [StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED]
    assert vm.current_job is None
    assert vm.status == VmStatus.FAILED
    assert vm.power_state == PowerState.MISSING  # the half-made domain was removed
    from apps.hosts.hypervisor import hypervisor_for
    from apps.virt.errors import NotFound

    try:
        hypervisor_for(test_host).get_domain(vm.domain_name)
        raise AssertionError("the domain is still defined")
    except NotFound:
        pass


def test_a_job_whose_worker_lives_is_left_alone(customer, test_host):
    vm = vm_with_domain(customer, test_host)
    job = running_job(vm, "vm_stop", f"{machine()}:{os.getpid()}", "Shut down the guest")

    assert reconcile() == 0

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def beat_ago(worker, seconds):
    """`worker` last beat `seconds` ago by the database's clock (as a real beat stamps it)."""
    beat(worker)
    Worker.objects.filter(name=worker).update(beat_at=Now() - timedelta(seconds=seconds))


def test_a_job_whose_worker_elsewhere_stopped_beating_is_settled_at_the_next_reconciliation(
    customer, test_host, settings
):
    """A worker container removed, its machine lost: its jobs are settled once its heartbeat
    has been silent for VMM_WORKER_SILENT_SECONDS, not after the job time limit."""
    vm = vm_with_domain(customer, test_host)
    job = running_job(vm, "vm_reboot", "worker-2~4026532511:7", "Reboot the guest")
    beat_ago(job.worker, settings.VMM_WORKER_SILENT_SECONDS - 5)
    assert reconcile() == 0  # still beating

    beat_ago(job.worker, settings.VMM_WORKER_SILENT_SECONDS + 5)
    assert reconcile() == 1
    job.refresh_from_db()
    vm.refresh_from_db()
    assert job.status == JobStatus.FAILED and "during “Reboot the guest”" in job.error
    assert "its worker worker-2~4026532511:7 has not been heard from for" in job.error
    assert [s.status for s in job.steps.all()] == [StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED]
    assert vm.current_job is None and vm.power_state == PowerState.RUNNING  # re-read from the host


def test_a_fresh_beat_on_another_machine_keeps_its_job_while_a_silent_one_does_not(customer, test_host, settings):
    """Two worker machines: the one still beating keeps its job, the silent one's is settled."""
    vm = vm_with_domain(customer, test_host)
    other = vm_with_domain(customer, test_host, name="web-2")
    alive = running_job(vm, "vm_stop", "worker-a~4026532600:7", "Shut down the guest")
    gone = running_job(other, "vm_stop", "worker-b~4026532601:7", "Shut down the guest")
    beat(alive.worker)
    beat_ago(gone.worker, settings.VMM_WORKER_SILENT_SECONDS + 1)

    assert reconcile() == 1
    assert Job.objects.get(pk=alive.pk).status == JobStatus.RUNNING
    assert Job.objects.get(pk=gone.pk).status == JobStatus.FAILED


def test_a_process_id_of_another_pid_namespace_is_not_looked_up_here(customer, test_host):
    """A container sharing this machine's host name runs its worker as, say, pid 1: that is
    not this machine's pid 1, so its job is judged by its heartbeat."""
    import socket

    vm = vm_with_domain(customer, test_host)
    job = running_job(vm, "vm_stop", f"{socket.gethostname()}~1:{dead_pid()}", "Shut down the guest")
    beat(job.worker)
    assert reconcile() == 0


def test_workers_silent_for_a_day_that_run_nothing_are_forgotten(customer, test_host):
    vm = vm_with_domain(customer, test_host)
    job = running_job(vm, "vm_stop", "worker-c~4026532602:7", "Shut down the guest")
    beat_ago(job.worker, 2 * 86400)  # its job is settled first, then its row goes
    beat_ago("worker-d~4026532603:8", 2 * 86400)
    beat_ago("worker-e~4026532604:9", 3600)
    assert reconcile() == 1
    assert list(Worker.objects.values_list("name", flat=True)) == ["worker-e~4026532604:9"]


def test_a_job_on_another_machine_is_settled_only_after_the_time_limit(customer, test_host, settings):
    """A job without a heartbeat (run by a worker from before heartbeats) waits for the limit."""
    vm = vm_with_domain(customer, test_host)
    recent = running_job(vm, "vm_stop", "elsewhere:1234", "Shut down the guest")
    assert reconcile() == 0

    Job.objects.filter(pk=recent.pk).update(started_at=timezone.now() - timedelta(seconds=settings.JOB_TIMEOUT + 120))
    assert reconcile() == 1
    recent.refresh_from_db()
    vm.refresh_from_db()
    assert recent.status == JobStatus.FAILED and vm.current_job is None
    assert vm.status == VmStatus.ACTIVE  # a failed stop does not fail the VM


NODE = """<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><mhz>2000</mhz></cpu>
  <memory>4194304</memory>
  <domain type="test"><name>{a}</name><memory>524288</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>
  <domain type="test"><name>{b}</name><memory>524288</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>
</node>
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("skew", ["+600", "-600"])
def test_silence_is_measured_by_the_database_clock_not_the_reconcilers(customer, tmp_path, settings, skew):
    """The reconciler runs on a machine whose clock is 10 minutes ahead of (or behind) the
    database's and the worker's (libfaketime, a real process): a beat a second old is still
    fresh and one silent for VMM_WORKER_SILENT_SECONDS + 5 s is still silent."""
    a, b = uuid.uuid4(), uuid.uuid4()
    node = tmp_path / "node.xml"
    node.write_text(NODE.format(a=f"vmm-{a}", b=f"vmm-{b}"))
    host = Host.objects.create(name="sim", uri=f"test://{node}", domain_type="qemu", status=HostStatus.ONLINE)
    alive_vm, gone_vm = (
        VirtualMachine.objects.create(uuid=u, name=name, owner=customer, host=host, status=VmStatus.ACTIVE)
        for u, name in ((a, "web-1"), (b, "web-2"))
    )
    alive = running_job(alive_vm, "vm_stop", "worker-a~4026532600:7", "Shut down the guest")
    gone = running_job(gone_vm, "vm_stop", "worker-b~4026532601:7", "Shut down the guest")
    beat(alive.worker)
    beat_ago(gone.worker, settings.VMM_WORKER_SILENT_SECONDS + 5)

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "VMM_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": settings.SECRET_KEY,
        "VMM_WORKER_SILENT_SECONDS": str(settings.VMM_WORKER_SILENT_SECONDS),
    }
    script = "import datetime; print('now', datetime.datetime.now().isoformat())\n"
    script += "from apps.jobs.reconcile import reconcile; print('settled', reconcile(housekeeping=False))"
    proc = subprocess.run(
        ["faketime", "-f", skew, sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("now ", "settled ")))
    their_clock = datetime.fromisoformat(said["now"]) - datetime.now()
    assert abs(their_clock.total_seconds() - int(skew)) < 60, proc.stdout  # it really was skewed
    settled = said["settled"]
    assert settled == "1"
    assert Job.objects.get(pk=alive.pk).status == JobStatus.RUNNING
    assert Job.objects.get(pk=gone.pk).status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_worker_busy_with_a_long_job_settles_a_dead_workers_job_meanwhile(customer, test_host, tmp_path, settings):
    """Every worker busy with a long job (a deploy, a backup): the scheduled reconciliation, a
    queued task like the jobs, would wait for one to finish. A busy worker's heartbeat
    thread looks for dead workers' jobs itself and settles them."""
    settings.VMM_WORKER_HEARTBEAT_SECONDS = 1
    settings.VMM_BUSY_RECONCILE_SECONDS = 1
    settings.VMM_OPERATIONS_DIR = str(tmp_path)
    (tmp_path / "vm_reboot.py").write_text(
        "import time\nSTEPS = ['Take a while']\n"
        "def run(ctx, vm, **params):\n    with ctx.step('Take a while'):\n        time.sleep(3)\n"
    )
    lost = vm_with_domain(customer, test_host, name="lost")
    orphan = running_job(lost, "vm_reboot", "worker-2~4026532511:7", "Reboot the guest")
    beat_ago(orphan.worker, settings.VMM_WORKER_SILENT_SECONDS + 5)  # its machine is gone
    busy = vm_with_domain(customer, test_host, name="busy")
    job = runner.submit("vm_reboot", busy, queue=False)

    tasks.run_job(str(job.pk))  # the only worker, busy for 3 s: no reconciliation runs meanwhile

    job.refresh_from_db()
    orphan.refresh_from_db()
    lost.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert orphan.status == JobStatus.FAILED and "during “Reboot the guest”" in orphan.error
    assert "its worker worker-2~4026532511:7 has not been heard from for" in orphan.error
    assert lost.current_job is None and lost.power_state == PowerState.RUNNING  # released, re-read
