import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.jobs.models import Job, JobStatus
from apps.vms.models import PowerState
from tests.vms.factories import vm_with_domain


def vm_command(*args):
    out = io.StringIO()
    call_command("vm", *args, stdout=out)
    return out.getvalue()


def test_an_operation_runs_from_the_console_with_its_steps_printed(customer, test_host):
    vm = vm_with_domain(customer, test_host)

    out = vm_command("vm_stop", vm.name, "--param", "timeout=5")

    assert "[..] 1. Shut down the guest" in out
    assert "[ok] 1. Shut down the guest" in out
    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED and job.params == {"timeout": "5"}
    assert f"job {job.pk} succeeded" in out
    vm.refresh_from_db()
    assert vm.power_state == PowerState.STOPPED


def test_a_failed_operation_prints_the_reason_and_exits_non_zero(customer, test_host):
    vm = vm_with_domain(customer, test_host, running=False)

    with pytest.raises(CommandError, match="shutoff"):
        vm_command("vm_resume", str(vm.uuid))

    assert Job.objects.get().status == JobStatus.FAILED


def test_unknown_operations_and_vms_are_refused(customer, test_host):
    vm = vm_with_domain(customer, test_host)
    with pytest.raises(CommandError, match="unknown operation"):
        vm_command("vm_fly", vm.name)
    with pytest.raises(CommandError, match="no VM"):
        vm_command("vm_stop", "no-such-vm")
    assert not Job.objects.exists()


def test_deleting_a_vm_removes_its_domain_and_the_row_and_the_job_records_it(customer, test_host):
    from apps.hosts.hypervisor import hypervisor_for
    from apps.virt.errors import NotFound
    from apps.vms.models import VirtualMachine

    vm = vm_with_domain(customer, test_host)

    out = vm_command("vm_delete", vm.name)

    assert "[ok] 1. Forget its backups" in out and "[ok] 3. Forget the VM" in out
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED and job.target_repr == "web-1"
    with pytest.raises(NotFound):
        hypervisor_for(test_host).get_domain(vm.domain_name)
