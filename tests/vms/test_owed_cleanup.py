"""Clean-up is never lost: a failed deploy whose host does not answer records what it owes
(domain, volumes, which job), the VM says "clean-up pending" on its page and in the API, and
once the host is back the watcher's reconciliation (or the jobs reconciler) removes it.
Hosts on libvirt's test driver; the unreachable one is a closed port on loopback."""

import gc

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.jobs.models import Job, JobStatus
from apps.jobs.reconcile import reconcile as reconcile_jobs
from apps.virt import connection
from apps.virt.types import DomainSpec
from apps.vms import cleanup, host_sync
from apps.vms.create import create_vm
from apps.vms.models import OwedCleanup, PowerState, VirtualMachine, VmStatus
from tests.api.conftest import client_for
from tests.health.conftest import running_watcher, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"name": "web-1", "vcpus": 1, "memory_mb": 1024, "disk_gb": 4, "password": "Correct-Horse-7"}
CLOSED_PORT = "qemu+tcp://127.0.0.1:1/system"


@pytest.fixture(autouse=True)
def fresh_connections():
    connection.close_all()
    yield
    gc.collect()
    connection.close_all()


@pytest.fixture
def far_host(db):
    """A host marked online whose libvirtd does not answer (nothing listens on port 1)."""
    return Host.objects.create(
        name="far",
        uri=CLOSED_PORT,
        status=HostStatus.ONLINE,
        storage_pool="default-pool",
        storage_path="/default-pool",
        cpus=4,
        memory_mb=8192,
        disk_bytes=100 * 2**30,
    )


def failed_deploy(owner, image):
    """Order a VM and run its deploy in this process: it fails, the host being unreachable."""
    from django.db import transaction

    with transaction.atomic():
        vm, job = create_vm(owner, image=image, **ORDER)
    # Queued on commit; the test settings run django-q synchronously: it has run.
    job.refresh_from_db()
    vm.refresh_from_db()
    return vm, job


def host_comes_back(host, vm):
    """The host answers again, with what the failed deploy left on it (test:///default)."""
    Host.objects.filter(pk=host.pk).update(uri="test:///default")
    host.refresh_from_db()
    driver = hypervisor_for(host)
    driver.define(DomainSpec(name=vm.domain_name, uuid=str(vm.uuid), domain_type="qemu", vcpus=1, memory_mb=128))
    driver.start(vm.domain_name)
    driver.create_volume(host.storage_pool, vm.disk_volume, 2**30)
    return driver


def left_on(driver, host, vm):
    domains = [name for name in driver.domain_states() if str(vm.uuid) in name]
    volumes = [v.name for v in driver.list_volumes(host.storage_pool) if str(vm.uuid) in v.name]
    return domains + volumes


def test_a_clean_up_the_host_could_not_do_is_owed_and_shown_on_the_vms_page_and_in_the_api(
    customer, far_host, ready_image, client
):
    vm, job = failed_deploy(customer, ready_image)

    assert job.status == JobStatus.FAILED
    assert vm.status == VmStatus.FAILED and vm.current_job is None
    debt = OwedCleanup.objects.get(vm=vm)
    assert debt.host == far_host and debt.job == job and debt.done_at is None
    assert debt.domain_name == vm.domain_name
    assert vm.disk_volume in debt.volumes and f"vmm-{vm.uuid}-seed.iso" in debt.volumes
    assert "unreachable" in debt.reason and "127.0.0.1:1" in debt.reason

    client.force_login(customer)
    page = client.get(f"/vms/{vm.pk}/").content.decode()
    assert "data-cleanup-pending" in page and "Clean-up pending" in page
    api = client_for(customer)
    assert api.get(f"/api/v1/vms/{vm.pk}/").json()["cleanup_pending"] is True
    listed = api.get("/api/v1/vms/").json()["results"]
    assert [(v["id"], v["cleanup_pending"]) for v in listed] == [(vm.pk, True)]


def test_the_watcher_settles_the_debt_when_the_host_is_back_and_the_vm_no_longer_says_pending(
    customer, far_host, ready_image, client
):
    vm, _ = failed_deploy(customer, ready_image)
    driver = host_comes_back(far_host, vm)
    assert left_on(driver, far_host, vm)

    with running_watcher():
        wait_for(lambda: OwedCleanup.objects.filter(vm=vm, done_at__isnull=False).exists(), 15)

    assert left_on(driver, far_host, vm) == []
    debt = OwedCleanup.objects.get(vm=vm)
    assert debt.outcome == "removed" and debt.attempts == 1
    assert VirtualMachine.objects.get(pk=vm.pk).status == VmStatus.FAILED  # the user deletes it
    assert client_for(customer).get(f"/api/v1/vms/{vm.pk}/").json()["cleanup_pending"] is False
    client.force_login(customer)
    assert "data-cleanup-pending" not in client.get(f"/vms/{vm.pk}/").content.decode()


def test_the_scheduled_jobs_reconciler_settles_debts_of_online_hosts_and_a_second_run_changes_nothing(
    customer, far_host, ready_image
):
    vm, _ = failed_deploy(customer, ready_image)
    driver = host_comes_back(far_host, vm)
    reconcile_jobs(housekeeping=False)  # `manage.py reconcile_jobs` before the workers start
    assert OwedCleanup.objects.get(vm=vm).done_at is None

    reconcile_jobs()  # the scheduled run

    assert left_on(driver, far_host, vm) == []
    debt = OwedCleanup.objects.get(vm=vm)
    assert debt.done_at is not None
    reconcile_jobs()
    assert OwedCleanup.objects.get(vm=vm).done_at == debt.done_at


def test_a_debt_whose_host_is_still_down_stays_owed_with_the_attempt_recorded(customer, far_host, ready_image):
    from apps.virt.errors import Unreachable

    vm, _ = failed_deploy(customer, ready_image)

    with pytest.raises(Unreachable):
        cleanup.settle_owed(far_host, hypervisor_for(far_host))

    debt = OwedCleanup.objects.get(vm=vm)
    assert debt.done_at is None and debt.attempts == 1 and "127.0.0.1:1" in debt.last_error


def test_what_is_already_gone_is_done_and_a_vm_a_job_holds_is_left_to_the_job(customer, far_host, ready_image):
    vm, _ = failed_deploy(customer, ready_image)
    Host.objects.filter(pk=far_host.pk).update(uri="test:///default")
    far_host.refresh_from_db()
    driver = hypervisor_for(far_host)
    job = Job.objects.create(kind="vm_delete", request_id="t")
    VirtualMachine.objects.filter(pk=vm.pk).update(current_job=job)

    host_sync.reconcile(far_host, driver)
    assert OwedCleanup.objects.get(vm=vm).done_at is None  # the delete job removes it

    VirtualMachine.objects.filter(pk=vm.pk).update(current_job=None)
    host_sync.reconcile(far_host, driver)
    assert OwedCleanup.objects.get(vm=vm).outcome == "already gone"


def test_a_vm_deployed_again_since_is_never_touched_by_an_old_debt(customer, far_host, ready_image):
    vm, _ = failed_deploy(customer, ready_image)
    driver = host_comes_back(far_host, vm)
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.ACTIVE, power_state=PowerState.RUNNING)

    cleanup.settle_owed(far_host, driver)

    assert vm.domain_name in left_on(driver, far_host, vm)
    assert OwedCleanup.objects.get(vm=vm).outcome.startswith("not needed")


def test_deleting_the_vm_pays_what_it_owed(customer, far_host, ready_image):
    from apps.jobs.runner import run_inline

    vm, _ = failed_deploy(customer, ready_image)
    driver = host_comes_back(far_host, vm)

    job = run_inline("vm_delete", VirtualMachine.objects.get(pk=vm.pk))

    assert job.status == JobStatus.SUCCEEDED
    assert left_on(driver, far_host, vm) == []
    debt = OwedCleanup.objects.get(domain_name=vm.domain_name)
    assert debt.vm is None and debt.done_at is not None
