"""VMs on a lost host (docs/outages.md, "VMs on a lost host" and "Recovery of a lost host's
VMs"), on libvirt's test driver: shown as "host unreachable" on both doors, changes refused
with the reason, delete owing the clean-up to the host, and staff's recovery on another host,
whose old copy the host watcher's reconciliation removes when the lost host comes back."""

import gc
import re

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.jobs.models import JobStatus, StepStatus
from apps.virt import connection
from apps.virt.types import DomainSpec
from apps.vms import changes, host_sync, recovery
from apps.vms.models import OwedCleanup, PowerState, VirtualMachine, VmStatus
from tests.api.conftest import client_for

CLOSED_PORT = "qemu+tcp://127.0.0.1:1/system"
ROOM = {"cpus": 8, "memory_mb": 16384, "disk_bytes": 200 * 2**30}
LOST_REASON = "Connection lost: connection closed by the host"


@pytest.fixture(autouse=True)
def fresh_connections():
    connection.close_all()
    yield
    gc.collect()
    connection.close_all()


def lost_host(uri=CLOSED_PORT):
    return Host.objects.create(
        name="lost",
        uri=uri,
        status=HostStatus.UNREACHABLE,
        status_reason=LOST_REASON,
        storage_pool="default-pool",
        storage_path="/default-pool",
        **ROOM,
    )


def vm_on(host, owner, image, name="web-1"):
    return VirtualMachine.objects.create(
        name=name,
        owner=owner,
        host=host,
        image=image,
        status=VmStatus.ACTIVE,
        power_state=PowerState.RUNNING,
        vcpus=1,
        memory_mb=1024,
        disk_gb=4,
        hostname=name,
    )


def shows_host_unreachable(html):
    """The page shows the "Host unreachable" badge (it is always there, hidden while the host
    is reachable, so that a live update can show it)."""
    return re.search(r"<span[^>]*\bdata-host-unreachable\b(?![^>]*\bhidden\b)[^>]*>", html) is not None


def signed_in(user, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_a_vm_on_a_lost_host_is_shown_as_host_unreachable_on_both_doors(customer, ready_image):
    vm = vm_on(lost_host(), customer, ready_image)

    page = signed_in(customer).get(f"/vms/{vm.pk}/").content.decode()
    assert shows_host_unreachable(page) and re.search(r"data-host-unreachable-note\s*>", page)
    assert f"/vms/{vm.pk}/power/" not in page  # no power buttons that could only be refused
    listing = signed_in(customer).get("/vms/").content.decode()
    assert shows_host_unreachable(listing)
    assert "Узел недоступен" in signed_in(customer, "ru").get("/vms/").content.decode()

    body = client_for(customer).get(f"/api/v1/vms/{vm.pk}/").json()
    assert body["host_state"] == "unreachable"
    assert body["power_state"] == "running"  # the last known state, kept (backward compatible)
    listed = client_for(customer).get("/api/v1/vms/").json()["results"][0]
    assert listed["host_state"] == "unreachable"


def test_a_vm_on_an_online_host_shows_its_power_state(customer, test_host, ready_image):
    vm = vm_on(test_host, customer, ready_image)
    page = signed_in(customer).get(f"/vms/{vm.pk}/").content.decode()
    assert not shows_host_unreachable(page) and f"/vms/{vm.pk}/power/stop/" in page
    assert client_for(customer).get(f"/api/v1/vms/{vm.pk}/").json()["host_state"] == "online"


def test_changes_to_a_vm_on_a_lost_host_are_refused_with_the_reason(customer, ready_image):
    vm = vm_on(lost_host(), customer, ready_image)
    api = client_for(customer)
    for path, body in (
        ("stop", {}),
        ("reboot", {}),
        ("reinstall", {"image": ready_image.pk, "password": "Str0ng-enough-pw"}),
        ("resize", {"vcpus": 2}),
    ):
        answer = api.post(f"/api/v1/vms/{vm.pk}/{path}/", body, format="json")
        assert answer.status_code == 400, (path, answer.content)
        error = answer.json()["errors"][0]
        assert (error["field"], error["code"]) == ("vm", "host_unreachable")
        assert "host of this VM is unreachable" in error["message"]

    response = signed_in(customer).post(f"/vms/{vm.pk}/power/stop/", follow=True)
    assert "host of this VM is unreachable" in response.content.decode()
    vm.refresh_from_db()
    assert vm.current_job_id is None


@pytest.mark.django_db(transaction=True)
def test_deleting_a_vm_on_a_lost_host_forgets_it_and_owes_the_host_its_removal(customer, ready_image):
    host = lost_host()
    vm = vm_on(host, customer, ready_image)
    domain = vm.domain_name

    job = changes.delete_vm(vm, actor=customer)  # the test settings run the job at once

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert "lost is unreachable: clean-up owed" in job.steps.get(name="Remove the VM from the host").detail
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    debt = OwedCleanup.objects.get(domain_name=domain)
    assert (debt.host_id, debt.vm_id, debt.done_at) == (host.pk, None, None)


def test_only_staff_recover_and_only_when_confirmed_and_the_host_is_lost(
    customer, admin_user, test_host, ready_image, django_capture_on_commit_callbacks
):
    Host.objects.filter(pk=test_host.pk).update(**ROOM)
    online_vm = vm_on(test_host, customer, ready_image, name="db-1")
    vm = vm_on(lost_host(), customer, ready_image)
    api = client_for(customer)
    assert api.post(f"/api/v1/vms/{vm.pk}/recover/", {"confirm_host_down": True}, format="json").status_code == 403

    staff = client_for(admin_user)
    answer = staff.post(f"/api/v1/vms/{vm.pk}/recover/", {}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "confirm_host_down"
    answer = staff.post(f"/api/v1/vms/{online_vm.pk}/recover/", {"confirm_host_down": True}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "host_not_lost"
    Host.objects.filter(pk=test_host.pk).update(memory_mb=1024)  # db-1 fills it: no room
    answer = staff.post(f"/api/v1/vms/{vm.pk}/recover/", {"confirm_host_down": True}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "host"
    assert VirtualMachine.objects.get(pk=vm.pk).current_job_id is None
    assert not OwedCleanup.objects.exists()

    # The staff's page offers the button; the customer's does not.
    assert "/recover/" in signed_in(admin_user).get(f"/vms/{vm.pk}/").content.decode()
    assert "/recover/" not in signed_in(customer).get(f"/vms/{vm.pk}/").content.decode()


def test_recovery_keeps_the_vm_moves_it_and_owes_the_lost_host_its_old_copy(
    customer, admin_user, test_host, ready_image, django_capture_on_commit_callbacks
):
    Host.objects.filter(pk=test_host.pk).update(**ROOM)
    lost = lost_host()
    vm = vm_on(lost, customer, ready_image)
    with django_capture_on_commit_callbacks(execute=False):
        response = signed_in(admin_user).post(f"/vms/{vm.pk}/recover/", {"confirm_host_down": "on"})
    assert response.status_code == 302

    vm.refresh_from_db()
    job = vm.current_job
    assert (job.kind, job.params["lost_host_id"], job.params["hostname"]) == ("vm_recover", lost.pk, "web-1")
    assert (vm.host_id, vm.name, vm.owner_id) == (test_host.pk, "web-1", customer.pk)
    debt = OwedCleanup.objects.get(vm=vm)
    assert (debt.host_id, debt.domain_name, debt.done_at) == (lost.pk, vm.domain_name, None)
    assert vm.disk_volume in debt.volumes
    assert not shows_host_unreachable(signed_in(customer).get(f"/vms/{vm.pk}/").content.decode())


@pytest.mark.django_db(transaction=True)
def test_the_recovery_job_gives_up_the_lost_host_and_deploys_on_the_other(customer, admin_user, ready_image):
    """The deploy steps are the normal ones (tests/deploy, real guests); here the image has no
    file, so the job gets as far as "Copy the image to the host" on the new host and fails
    there like any deploy: the VM is failed on the new host, the lost host still owed."""
    spare = Host.objects.create(
        name="spare",
        uri="test:///default",
        status=HostStatus.ONLINE,
        storage_pool="default-pool",
        storage_path="/default-pool",
        **ROOM,
    )
    lost = lost_host()
    vm = vm_on(lost, customer, ready_image)

    job = recovery.recover_vm(vm, confirm_host_down=True, actor=admin_user)  # runs at once here

    job.refresh_from_db()
    given_up = job.steps.get(name="Give up the lost host")
    assert given_up.status == StepStatus.SUCCEEDED
    assert f"{vm.domain_name} and its disk on lost: clean-up owed" in given_up.detail
    assert "root password login is locked" in given_up.detail
    chosen = job.steps.get(name="Choose a host")
    assert chosen.status == StepStatus.SUCCEEDED and "spare" in chosen.detail
    vm.refresh_from_db()
    assert vm.host_id == spare.pk and vm.current_job_id is None
    assert OwedCleanup.objects.get(host=lost, vm=vm).done_at is None


def test_a_lost_host_that_comes_back_loses_its_copy_of_a_recovered_vm(
    customer, admin_user, ready_image, django_capture_on_commit_callbacks
):
    """No split brain: the watcher's reconciliation of the returning host destroys and
    removes the old domain and disk, even while the recovery job still holds the VM."""
    lost = lost_host(uri="test:///default")
    spare = Host.objects.create(name="spare", uri=CLOSED_PORT, status=HostStatus.ONLINE, **ROOM)
    vm = vm_on(lost, customer, ready_image)
    with django_capture_on_commit_callbacks(execute=False):
        recovery.recover_vm(vm, confirm_host_down=True, actor=admin_user)
    vm.refresh_from_db()
    assert vm.host_id == spare.pk and vm.current_job_id is not None

    # The host comes back with the guest still running on it.
    driver = hypervisor_for(lost)
    driver.define(DomainSpec(name=vm.domain_name, uuid=str(vm.uuid), domain_type="qemu", vcpus=1, memory_mb=128))
    driver.start(vm.domain_name)
    driver.create_volume(lost.storage_pool, vm.disk_volume, 2**30)
    Host.objects.filter(pk=lost.pk).update(status=HostStatus.ONLINE, status_reason="")
    lost.refresh_from_db()

    with transaction.atomic():
        host_sync.reconcile(lost, driver)

    assert vm.domain_name not in driver.domain_states()
    assert vm.disk_volume not in [v.name for v in driver.list_volumes(lost.storage_pool)]
    debt = OwedCleanup.objects.get(host=lost, vm=vm)
    assert debt.done_at is not None and debt.outcome == "removed"
    vm.refresh_from_db()
    assert vm.host_id == spare.pk  # the VM itself is untouched
    lost.refresh_from_db()
    assert lost.strays == []


@pytest.mark.parametrize("path", ["/vms/", "/api/v1/vms/"])
def test_listing_vms_on_a_lost_host_runs_no_query_per_vm(customer, ready_image, path):
    host = lost_host()
    vm_on(host, customer, ready_image, name="vm-0")
    client = client_for(customer) if path.startswith("/api/") else signed_in(customer)
    with CaptureQueriesContext(db_connection) as few:
        assert client.get(path).status_code == 200
    for i in range(1, 12):
        vm_on(host, customer, ready_image, name=f"vm-{i}")

    with CaptureQueriesContext(db_connection) as many:
        response = client.get(path)

    assert response.status_code == 200
    assert len(many) <= len(few)  # the first call may also stamp the token as used
    shown = response.json()["results"] if path.startswith("/api/") else None
    assert shown is None or {vm["host_state"] for vm in shown} == {"unreachable"}
    assert shown is not None or response.content.decode().count("data-host-unreachable") == 12
