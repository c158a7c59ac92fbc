"""Jobs whose worker died are settled: failed with the step they died in, cleaned up,
their VM released and in a definite state."""

import os
import subprocess
from datetime import timedelta

from django.utils import timezone

from apps.jobs import runner
from apps.jobs.heartbeat import machine
from apps.jobs.models import Job, JobStatus, StepStatus
from apps.jobs.reconcile import reconcile
from apps.vms.models import PowerState, VmStatus
from tests.vms.factories import vm_with_domain


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


def test_a_job_whose_worker_elsewhere_stopped_beating_is_settled_at_the_next_reconciliation(
    customer, test_host, settings
):
    """A worker container removed, its machine lost: its jobs are settled once its heartbeat
    has been silent for VMM_WORKER_SILENT_SECONDS, not after the job time limit."""
    vm = vm_with_domain(customer, test_host)
    job = running_job(vm, "vm_reboot", "worker-2~4026532511:7", "Reboot the guest")
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(heartbeat_at=now - timedelta(seconds=settings.VMM_WORKER_SILENT_SECONDS - 5))
    assert reconcile() == 0  # still beating

    Job.objects.filter(pk=job.pk).update(heartbeat_at=now - timedelta(seconds=settings.VMM_WORKER_SILENT_SECONDS + 5))
    assert reconcile() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "during “Reboot the guest”" in job.error


def test_a_process_id_of_another_pid_namespace_is_not_looked_up_here(customer, test_host):
    """A container sharing this machine's host name runs its worker as, say, pid 1: that is
    not this machine's pid 1, so its job is judged by its heartbeat."""
    import socket

    vm = vm_with_domain(customer, test_host)
    job = running_job(vm, "vm_stop", f"{socket.gethostname()}~1:{dead_pid()}", "Shut down the guest")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    assert reconcile() == 0


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
