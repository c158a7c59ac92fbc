from django.urls import reverse

from apps.jobs.models import Job, JobStatus
from apps.vms import placement
from apps.vms.models import PowerState
from tests.ui.conftest import make_vm


def job(vm, status, error=""):
    return Job.objects.create(
        kind="vm_start",
        target=vm,
        target_repr=vm.name,
        owner=vm.owner,
        request_id="r-00000001",
        status=status,
        error=error,
    )


def test_a_customer_sees_their_own_vms_by_power_state_and_their_jobs_only(as_customer, my_vm, their_vm, sized_host):
    make_vm(my_vm.owner, sized_host, name="mine-2", power_state=PowerState.STOPPED)
    job(my_vm, JobStatus.RUNNING)
    job(my_vm, JobStatus.FAILED, error="the guest did not answer")
    job(their_vm, JobStatus.FAILED, error="someone else's trouble")

    response = as_customer.get(reverse("ui:dashboard"))

    counts = response.context["counts"]
    assert counts["total"] == 2
    assert counts["power"] == {"running": 1, "stopped": 1}
    assert [j.target_repr for j in response.context["active_jobs"]] == ["mine-1"]
    assert b"the guest did not answer" in response.content
    assert b"someone else" not in response.content
    assert response.context["usages"] == []  # hosts are the provider's business
    assert reverse("ui:vm_create").encode() in response.content  # ordering a VM is one click away


def test_staff_see_each_hosts_allocation_against_its_capacity(as_admin, my_vm, their_vm, sized_host):
    response = as_admin.get(reverse("ui:dashboard"))

    (usage,) = response.context["usages"]
    assert usage.used == placement.allocation(sized_host) == {"vcpus": 2, "memory_mb": 2048, "disk_gb": 20}
    assert usage.free == placement.free(sized_host)
    assert usage.vm_count == 2
    assert b"test-host" in response.content
    assert b"2048 / 8192" not in response.content and b"2 / 8 GiB" in response.content
