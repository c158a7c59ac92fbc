"""Periodic reconciliation on a test:/// host: what the host says wins over what the panel
last heard, except for VMs a job is working on."""

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.jobs.models import Job
from apps.virt.errors import Unreachable
from apps.virt.types import DomainSpec
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from apps.vms.state_sync import reconcile_host
from tests.health.conftest import make_vm, power_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(test_host):
    return hypervisor_for(test_host)


def test_domains_destroyed_or_undefined_behind_the_panels_back_show_as_stopped_or_missing(customer, test_host, driver):
    destroyed = make_vm(customer, test_host, "destroyed")
    undefined = make_vm(customer, test_host, "undefined")
    still_running = make_vm(customer, test_host, "still-running")
    driver.destroy(destroyed.domain_name)
    driver.destroy(undefined.domain_name)
    driver.undefine(undefined.domain_name)

    result = reconcile_host(test_host, driver)

    assert power_of(destroyed) == PowerState.STOPPED
    assert power_of(undefined) == PowerState.MISSING
    assert power_of(still_running) == PowerState.RUNNING
    assert result.checked == 3
    assert result.changed == {
        destroyed.pk: (PowerState.RUNNING, PowerState.STOPPED),
        undefined.pk: (PowerState.RUNNING, PowerState.MISSING),
    }
    assert all(vm.state_synced_at for vm in VirtualMachine.objects.all())


def test_a_vm_shown_stopped_that_runs_again_and_a_paused_one_are_corrected(customer, test_host, driver):
    started = make_vm(customer, test_host, "started", running=False)
    paused = make_vm(customer, test_host, "paused")
    driver.start(started.domain_name)
    driver.suspend(paused.domain_name)

    reconcile_host(test_host, driver)

    assert (power_of(started), power_of(paused)) == (PowerState.RUNNING, PowerState.PAUSED)


def test_vms_a_job_holds_or_that_are_not_active_yet_are_left_alone(customer, test_host, driver):
    busy = make_vm(customer, test_host, "busy", current_job=Job.objects.create(kind="vm_stop", request_id="t"))
    creating = VirtualMachine.objects.create(
        name="creating", owner=customer, host=test_host, status=VmStatus.CREATING, power_state=PowerState.UNKNOWN
    )
    driver.destroy(busy.domain_name)

    result = reconcile_host(test_host, driver)

    assert power_of(busy) == PowerState.RUNNING  # the job re-reads it when it ends
    assert power_of(creating) == PowerState.UNKNOWN  # its domain does not exist yet: not "missing"
    assert result.checked == 0
    assert VirtualMachine.objects.get(pk=busy.pk).status == VmStatus.ACTIVE


def test_only_the_hosts_own_vms_change_and_unknown_panel_domains_are_reported(customer, test_host, driver):
    elsewhere = Host.objects.create(name="elsewhere", uri="test:///elsewhere", status=HostStatus.ONLINE)
    other = VirtualMachine.objects.create(
        name="other", owner=customer, host=elsewhere, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING
    )
    stray = "vmm-00000000-0000-4000-8000-000000000001"
    driver.define(DomainSpec(name=stray, domain_type="qemu", vcpus=1, memory_mb=64))
    driver.define(DomainSpec(name="not-ours", domain_type="qemu", vcpus=1, memory_mb=64))

    result = reconcile_host(test_host, driver)

    assert power_of(other) == PowerState.RUNNING
    assert result.foreign == [stray]  # logged, never deleted: not the panel's to remove


def test_a_change_made_while_listing_is_not_overwritten(customer, test_host, driver):
    vm = make_vm(customer, test_host, "raced")
    driver.destroy(vm.domain_name)
    real_listing = driver.domain_states

    def listing_during_which_an_event_arrives():
        states = real_listing()
        VirtualMachine.objects.filter(pk=vm.pk).update(power_state=PowerState.PAUSED)  # newer news
        return states

    driver.domain_states = listing_during_which_an_event_arrives
    result = reconcile_host(test_host, driver)

    assert power_of(vm) == PowerState.PAUSED
    assert result.changed == {}


def test_an_unreachable_host_changes_nothing(customer, test_host):
    vm = VirtualMachine.objects.create(
        name="far", owner=customer, host=test_host, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING
    )
    Host.objects.filter(pk=test_host.pk).update(uri="qemu+tcp://127.0.0.1:1/system")
    test_host.refresh_from_db()

    with pytest.raises(Unreachable):
        reconcile_host(test_host, hypervisor_for(test_host))

    assert power_of(vm) == PowerState.RUNNING  # last known: guests outlive a lost connection
