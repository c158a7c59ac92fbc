"""Suspension for non-payment (apps/vms/suspension.py) on libvirt's test driver, jobs run in
this process: a reseller suspends its customer through the API, the VMs go down (or pause)
and remember their power state, the customer is refused what would bring them back, a
retry is a no-op, unsuspending restores each state; termination deletes after the grace."""

import pytest
from auditlog.models import LogEntry

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import Job, JobStatus
from apps.jobs.reconcile import reconcile
from apps.virt.types import DomainState
from apps.vms.models import PowerState, VirtualMachine
from tests.api.conftest import client_for, order
from tests.vms.factories import vm_with_domain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def vms(customer, test_host):
    test_host.cpus, test_host.memory_mb, test_host.disk_bytes = 16, 65536, 500 * 2**30
    test_host.save()
    running = vm_with_domain(customer, test_host, name="susp-run", power_state=PowerState.RUNNING)
    paused = vm_with_domain(customer, test_host, name="susp-paused", power_state=PowerState.PAUSED)
    hypervisor_for(test_host).suspend(paused.domain_name)
    yield running, paused
    driver = hypervisor_for(test_host)
    for vm in (running, paused):
        for call in (driver.destroy, driver.undefine):
            try:
                call(vm.domain_name)
            except Exception:  # noqa: BLE001 - already gone
                pass


def state(vm):
    return hypervisor_for(vm.host).get_domain(vm.domain_name).state


def test_a_reseller_suspends_its_customer_and_lifts_it(reseller, customer, vms, ready_image):
    running, paused = vms
    billing = client_for(reseller)
    answer = billing.post(f"/api/v1/users/{customer.pk}/suspend/", {"reason": "invoice 42 unpaid"}, format="json")
    assert answer.status_code == 202, answer.content
    job = Job.objects.get(pk=answer.json()["job"]["id"])
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (state(running), state(paused)) == (DomainState.SHUTOFF, DomainState.SHUTOFF)
    running.refresh_from_db()
    paused.refresh_from_db()
    assert running.suspension_reason == "invoice 42 unpaid" and running.suspended_with_owner
    assert (running.power_before_suspension, paused.power_before_suspension) == ("running", "paused")
    assert answer.json()["user"]["suspension_reason"] == "invoice 42 unpaid"

    # The customer cannot bring them back, and is told why.
    mine = client_for(customer)
    refused = mine.post(f"/api/v1/vms/{running.pk}/start/")
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["field"] == "vm" and "invoice 42 unpaid" in error["message"]
    for path, body in (
        ("resume", {}),
        ("reinstall", {"password": "Str0ng-Passw0rd!x"}),
        ("reset-password", {"password": "Str0ng-Passw0rd!x"}),
        ("resize", {"vcpus": 2}),
    ):
        assert mine.post(f"/api/v1/vms/{running.pk}/{path}/", body, format="json").status_code == 400, path
    assert mine.post("/api/v1/vms/", order(ready_image), format="json").status_code == 400
    assert mine.post(f"/api/v1/users/{customer.pk}/unsuspend/").status_code == 403

    # A billing system retrying: success, nothing started.
    again = billing.post(f"/api/v1/users/{customer.pk}/suspend/", {"reason": "invoice 42 unpaid"}, format="json")
    assert (again.status_code, again.json()["job"]) == (200, None)

    lifted = billing.post(f"/api/v1/users/{customer.pk}/unsuspend/")
    assert lifted.status_code == 202
    assert Job.objects.get(pk=lifted.json()["job"]["id"]).status == JobStatus.SUCCEEDED
    assert (state(running), state(paused)) == (DomainState.RUNNING, DomainState.PAUSED)
    assert VirtualMachine.objects.filter(suspended_at__isnull=False).count() == 0
    assert billing.post(f"/api/v1/users/{customer.pk}/unsuspend/").json()["job"] is None

    changes = LogEntry.objects.get_for_object(running).filter(actor=reseller)
    assert any("suspension_reason" in (entry.changes_dict or {}) for entry in changes)


def test_a_single_vm_is_paused_per_the_resellers_choice_and_brought_back(reseller, customer, vms):
    running, _ = vms
    reseller.suspend_mode = "pause"
    reseller.save()
    billing = client_for(reseller)
    answer = billing.post(f"/api/v1/vms/{running.pk}/billing-suspend/", {"reason": "overdue"}, format="json")
    assert answer.status_code == 202
    assert answer.json()["vm"]["suspension_reason"] == "overdue"
    assert state(running) == DomainState.PAUSED
    assert billing.post(f"/api/v1/vms/{running.pk}/billing-suspend/").json()["job"] is None
    assert client_for(customer).post(f"/api/v1/vms/{running.pk}/resume/").status_code == 400
    assert billing.post(f"/api/v1/vms/{running.pk}/billing-unsuspend/").status_code == 202
    assert state(running) == DomainState.RUNNING


def test_only_staff_or_the_customers_reseller_suspend(customer, other_customer, vms):
    running, _ = vms
    from apps.accounts.models import Role, User

    stranger = User.objects.create_user("reseller-x", password="pw-x-123456", role=Role.RESELLER)
    assert client_for(customer).post(f"/api/v1/vms/{running.pk}/billing-suspend/").status_code == 403
    assert client_for(stranger).post(f"/api/v1/vms/{running.pk}/billing-suspend/").status_code == 404
    assert client_for(stranger).post(f"/api/v1/users/{customer.pk}/suspend/").status_code == 404
    bad = client_for(customer.reseller).post(f"/api/v1/users/{customer.pk}/suspend/", {"mode": "explode"})
    assert [e["field"] for e in bad.json()["errors"]] == ["mode"]


def test_a_suspended_customer_is_terminated_after_the_grace_period(settings, admin_user, customer, vms):
    running, paused = vms
    staff = client_for(admin_user)
    assert staff.post(f"/api/v1/users/{customer.pk}/terminate/").status_code == 400  # not suspended
    staff.post(f"/api/v1/users/{customer.pk}/suspend/")
    settings.VMM_TERMINATE_GRACE_HOURS = 0
    answer = staff.post(f"/api/v1/users/{customer.pk}/terminate/")
    assert answer.status_code == 200 and answer.json()["terminate_at"]
    reconcile()  # the housekeeping starts the termination
    job = Job.objects.get(kind="customer_terminate")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert not VirtualMachine.objects.filter(owner=customer).exists()
    names = {d.name for d in hypervisor_for(running.host).list_domains()}
    assert running.domain_name not in names and paused.domain_name not in names
