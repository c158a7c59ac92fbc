import logging
import os

import pytest

from apps.core.request_id import RequestIdLogFilter
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs import registry, runner
from apps.jobs.heartbeat import machine
from apps.jobs.models import Job, JobStatus, StepStatus, Worker
from apps.vms.models import PowerState
from apps.vms.services import vm_operation
from tests.vms.factories import vm_with_domain


def run_now(capture, vm, kind, **kwargs):
    with capture(execute=True):
        job = vm_operation(vm, kind, **kwargs)
    job.refresh_from_db()
    vm.refresh_from_db()
    return job


def test_an_operation_runs_as_a_job_with_recorded_steps(customer, test_host, django_capture_on_commit_callbacks):
    vm = vm_with_domain(customer, test_host, running=False)

    job = run_now(django_capture_on_commit_callbacks, vm, "vm_start", actor=customer)

    assert job.status == JobStatus.SUCCEEDED
    assert job.owner == customer and job.actor == customer
    steps = list(job.steps.all())
    assert [(s.name, s.status) for s in steps] == [("Start the VM", StepStatus.SUCCEEDED)]
    assert steps[0].started_at <= steps[0].finished_at
    assert job.started_at <= job.finished_at
    assert hypervisor_for(test_host).get_domain(vm.domain_name).state == "running"
    assert vm.power_state == PowerState.RUNNING
    assert vm.current_job is None


def test_a_second_operation_on_a_busy_vm_is_refused_naming_the_running_job(customer, test_host):
    vm = vm_with_domain(customer, test_host)
    first = vm_operation(vm, "vm_stop")  # queued, not run: the VM stays claimed

    with pytest.raises(runner.TargetBusy) as refused:
        vm_operation(vm, "vm_reboot")

    assert refused.value.job == first
    assert Job.objects.filter(target_id=vm.pk).count() == 1
    vm.refresh_from_db()
    assert vm.current_job == first


def test_a_failing_operation_records_the_step_and_reason_and_releases_the_vm(
    customer, test_host, django_capture_on_commit_callbacks
):
    vm = vm_with_domain(customer, test_host, running=False)

    job = run_now(django_capture_on_commit_callbacks, vm, "vm_suspend")  # a stopped domain cannot pause

    assert job.status == JobStatus.FAILED
    assert "shutoff" in job.error
    step = job.steps.get()
    assert step.status == StepStatus.FAILED and "shutoff" in step.detail
    assert vm.current_job is None
    assert vm.power_state == PowerState.STOPPED  # re-read from the host, not guessed


def test_a_domain_removed_behind_the_panels_back_fails_cleanly_and_shows_missing(
    customer, test_host, django_capture_on_commit_callbacks
):
    vm = vm_with_domain(customer, test_host, running=False)
    hypervisor_for(test_host).undefine(vm.domain_name)

    job = run_now(django_capture_on_commit_callbacks, vm, "vm_start")

    assert job.status == JobStatus.FAILED
    assert job.error and "Internal error" not in job.error
    assert vm.power_state == PowerState.MISSING
    assert vm.current_job is None


def test_the_request_id_follows_the_job_into_every_log_line(customer, test_host, django_capture_on_commit_callbacks):
    vm = vm_with_domain(customer, test_host)
    records = []
    handler = logging.Handler()
    handler.addFilter(RequestIdLogFilter())
    handler.emit = records.append
    logger = logging.getLogger("vmmanager")
    logger.addHandler(handler)
    try:
        job = run_now(django_capture_on_commit_callbacks, vm, "vm_reboot", request_id="req-abcdef123456")
    finally:
        logger.removeHandler(handler)

    assert job.request_id == "req-abcdef123456"
    job_lines = [r for r in records if r.name.startswith(("vmmanager.jobs", "vmmanager.operations"))]
    assert len(job_lines) >= 3
    assert {r.request_id for r in job_lines} == {"req-abcdef123456"}


def test_a_job_delivered_twice_runs_once(customer, test_host, django_capture_on_commit_callbacks):
    vm = vm_with_domain(customer, test_host, running=False)
    job = run_now(django_capture_on_commit_callbacks, vm, "vm_start")

    again = runner.execute(job.pk)

    assert again.status == JobStatus.SUCCEEDED
    assert job.steps.count() == 1


def test_an_unknown_operation_is_refused_before_any_job_exists(customer, test_host):
    vm = vm_with_domain(customer, test_host)

    with pytest.raises(registry.UnknownOperation):
        vm_operation(vm, "vm_explode")

    assert not Job.objects.exists()
    vm.refresh_from_db()
    assert vm.current_job is None


def test_an_admins_override_replaces_the_operation_but_not_the_bookkeeping(
    customer, test_host, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.VMM_OPERATIONS_DIR = str(tmp_path)
    (tmp_path / "vm_stop.py").write_text(
        "from apps.hosts.hypervisor import hypervisor_for\n"
        "STEPS = ['Power off at once']\n"
        "def run(ctx, vm, **params):\n"
        "    with ctx.step('Power off at once'):\n"
        "        hypervisor_for(vm.host).destroy(vm.domain_name)\n"
    )
    vm = vm_with_domain(customer, test_host)

    job = run_now(django_capture_on_commit_callbacks, vm, "vm_stop")

    assert job.status == JobStatus.SUCCEEDED
    assert [s.name for s in job.steps.all()] == ["Power off at once"]
    assert vm.power_state == PowerState.STOPPED
    assert vm.current_job is None


def test_a_broken_override_fails_the_job_and_still_releases_the_vm(
    customer, test_host, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.VMM_OPERATIONS_DIR = str(tmp_path)
    (tmp_path / "vm_reboot.py").write_text("def run(ctx, vm, **params):\n    raise RuntimeError('boom')\n")
    vm = vm_with_domain(customer, test_host)

    job = run_now(django_capture_on_commit_callbacks, vm, "vm_reboot")

    assert job.status == JobStatus.FAILED
    assert "boom" in job.error
    assert vm.current_job is None
    assert vm.power_state == PowerState.RUNNING


@pytest.mark.django_db(transaction=True)
def test_a_worker_beats_on_the_job_it_runs_until_it_ends(customer, test_host, tmp_path, settings):
    """The heartbeat the reconciler reads for a worker on another machine (apps/jobs/heartbeat.py):
    a row per worker process, beaten before it takes the job and while it runs it."""
    settings.VMM_WORKER_HEARTBEAT_SECONDS = 1
    settings.VMM_OPERATIONS_DIR = str(tmp_path)
    (tmp_path / "vm_reboot.py").write_text(
        "import time\nSTEPS = ['Take a while']\n"
        "def run(ctx, vm, **params):\n    with ctx.step('Take a while'):\n        time.sleep(2.5)\n"
    )
    vm = vm_with_domain(customer, test_host)
    job = runner.submit("vm_reboot", vm, queue=False)

    runner.execute(job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    row = Worker.objects.get(name=job.worker)  # the worker's heartbeat, by the database's clock
    assert (row.machine, row.pid) == (machine(), os.getpid())
    assert (row.beat_at - job.started_at).total_seconds() >= 0.9  # it beat while the step ran
    assert row.beat_at <= job.finished_at  # and stopped with the job
    assert row.started_at <= job.started_at  # its first beat came before it took the job


@pytest.mark.timeout(60, method="thread")  # hanging was the bug: end the run, loudly
def test_a_job_run_inside_a_transaction_ends_though_it_outlasts_a_heartbeat(
    customer, test_host, tmp_path, settings, django_capture_on_commit_callbacks
):
    """A job run at the commit of its caller's transaction (the tests' way) that lasts longer
    than the heartbeat interval: the beat thread's connection would wait for the worker row
    this transaction made, and the job's end for the thread (it hung every real test)."""
    settings.VMM_WORKER_HEARTBEAT_SECONDS = 0.2
    settings.VMM_OPERATIONS_DIR = str(tmp_path)
    (tmp_path / "vm_reboot.py").write_text(
        "import time\nSTEPS = ['Take a while']\n"
        "def run(ctx, vm, **params):\n    with ctx.step('Take a while'):\n        time.sleep(1)\n"
    )
    vm = vm_with_domain(customer, test_host)

    job = run_now(django_capture_on_commit_callbacks, vm, "vm_reboot")

    assert job.status == JobStatus.SUCCEEDED
    assert Worker.objects.filter(name=job.worker).exists()
