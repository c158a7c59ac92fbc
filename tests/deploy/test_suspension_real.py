"""Suspension on the real local libvirtd (marker `libvirt`): a customer with two TCG guests,
one running and one paused, is suspended (both shut off, as virsh would say) and unsuspended
(each back in its state). Lean: the guests are diskless (the firmware idles), so nothing is
deployed and the graceful stop falls back to powering off after a short VMM_STOP_TIMEOUT."""

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import JobStatus
from apps.virt.types import DomainSpec, DomainState
from apps.vms import suspension
from apps.vms.changes import power_vm
from apps.vms.models import PowerState, VirtualMachine, VmStatus

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


@pytest.fixture
def guests(customer, local_host):
    driver = hypervisor_for(local_host)
    vms = []
    for name in ("susp-a", "susp-b"):
        vm = VirtualMachine.objects.create(
            name=name, owner=customer, host=local_host, status=VmStatus.ACTIVE, vcpus=1, memory_mb=128
        )
        driver.define(DomainSpec(name=vm.domain_name, domain_type=local_host.domain_type, vcpus=1, memory_mb=128))
        driver.start(vm.domain_name)
        vms.append(vm)
    driver.suspend(vms[1].domain_name)
    yield vms
    for vm in vms:
        for call in (driver.destroy, driver.undefine):
            try:
                call(vm.domain_name)
            except Exception:  # noqa: BLE001 - already off or gone
                pass


def states(vms):
    driver = hypervisor_for(vms[0].host)
    return [driver.get_domain(vm.domain_name).state for vm in vms]


def test_suspend_then_unsuspend_two_real_guests(
    settings, reseller, customer, guests, django_capture_on_commit_callbacks
):
    settings.VMM_STOP_TIMEOUT = 2
    assert states(guests) == [DomainState.RUNNING, DomainState.PAUSED]
    with django_capture_on_commit_callbacks(execute=True):
        job = suspension.suspend_customer(customer, reason="unpaid", mode="stop", actor=reseller)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert states(guests) == [DomainState.SHUTOFF, DomainState.SHUTOFF]
    running = VirtualMachine.objects.get(pk=guests[0].pk)
    assert running.power_state == PowerState.STOPPED and running.suspended_at is not None
    with pytest.raises(Exception, match="suspended"):
        power_vm(running, "start", actor=customer)

    with django_capture_on_commit_callbacks(execute=True):
        job = suspension.unsuspend_customer(customer, actor=reseller)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert states(guests) == [DomainState.RUNNING, DomainState.PAUSED]
