"""Short outages are waited out (docs/outages.md), against a real libvirt host in a container
(scripts/testhosts.sh): its libvirtd is stopped and started again while driver calls, a
job and a whole deploy of a real TCG guest run. The machine's own libvirtd is never touched.

Run under `flock /tmp/vmm-multihost.lock` (other runs start and stop the same containers).
Every test leaves the host's libvirtd running, whatever happens."""

import re
import threading
import time

import libvirt
import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs import runner, signals
from apps.jobs.models import JobStatus, StepStatus
from apps.virt import outage
from apps.virt.errors import Unreachable
from apps.vms.changes import delete_vm
from apps.vms.create import create_vm
from apps.vms.deploy.steps import CREATE_STEPS, seed_volume
from apps.vms.models import OwedCleanup, PowerState, VirtualMachine, VmStatus
from apps.vms.selectors import with_cleanup_pending
from tests.health.conftest import running_watcher, wait_for
from tests.multihost.test_watch_hosts import podman_env, start_libvirtd, stop_libvirtd  # noqa: F401 (fixture)

pytestmark = [pytest.mark.libvirt, pytest.mark.multihost, pytest.mark.slow, pytest.mark.timeout(600)]

RECONNECTED = re.compile(r"^host host-1 unreachable for (\d+) s, reconnected$")


class Outage:
    """libvirtd of `host` stopped now and started again `seconds` later (in a thread)."""

    def __init__(self, podman_env, host, seconds):  # noqa: F811
        self.env, self.host, self.seconds = podman_env, host, seconds

    def __enter__(self):
        stop_libvirtd(self.env, self.host)
        self.thread = threading.Thread(target=self._back)
        self.thread.start()
        return self

    def _back(self):
        time.sleep(self.seconds)
        start_libvirtd(self.env, self.host)

    def __exit__(self, *exc):
        self.thread.join()
        return False


@pytest.fixture
def host(remote_hosts, podman_env):  # noqa: F811
    host = remote_hosts[0]
    yield host
    start_libvirtd(podman_env, host)  # whatever a test did


def test_a_call_made_while_libvirtd_is_stopped_succeeds_once_it_is_back(host, podman_env):  # noqa: F811
    driver = hypervisor_for(host, outage_window=30)
    driver.host_info()  # a connection open before the outage, as in a running worker
    heard = []
    with outage.reporting_to(heard.append), Outage(podman_env, host, 3):
        started = time.monotonic()
        pools = driver.list_pools()
        elapsed = time.monotonic() - started

    assert host.storage_pool in [p.name for p in pools]
    assert 3 <= elapsed < 15
    assert len(heard) == 1 and RECONNECTED.match(heard[0]), heard
    assert 3 <= int(RECONNECTED.match(heard[0])[1]) <= 15


def test_an_outage_longer_than_the_window_fails_the_call_with_the_reason(host, podman_env):  # noqa: F811
    driver = hypervisor_for(host, outage_window=5)
    with Outage(podman_env, host, 10):
        started = time.monotonic()
        with pytest.raises(Unreachable) as caught:
            driver.list_domains()
        elapsed = time.monotonic() - started

    assert 5 <= elapsed < 9
    message = str(caught.value)
    assert message.startswith(f"host host-1 unreachable for 5 s: cannot connect to {host.uri}: "), message


def test_an_upload_in_flight_when_libvirtd_restarts_completes_after_the_restart(
    host,
    podman_env,  # noqa: F811
    tmp_path,
):
    size = 1024 * 2**20
    source = tmp_path / "disk.raw"
    with open(source, "wb") as f:  # real bytes, not a hole: every one of them crosses the stream
        chunk = bytes(range(256)) * 4096
        for _ in range(size // len(chunk)):
            f.write(chunk)
    driver = hypervisor_for(host, outage_window=60)
    heard, result, failure = [], [], []

    def upload():
        try:
            with outage.reporting_to(heard.append):
                result.append(driver.upload_volume(host.storage_pool, "outage-upload.raw", str(source), "raw"))
        except Exception as e:  # noqa: BLE001 - reported by the assertions below
            failure.append(e)

    uploading = threading.Thread(target=upload)
    uploading.start()
    # A connection of our own sees the volume appear: the stream is then under way. (Or the
    # pool refuses to be read again because of it: a volume's stream is a job on its pool.)
    spy = libvirt.open(host.uri)
    try:
        pool = spy.storagePoolLookupByName(host.storage_pool)
        deadline = time.monotonic() + 30
        while "outage-upload.raw" not in pool.listVolumes():
            assert time.monotonic() < deadline and uploading.is_alive(), (result, failure)
            try:
                pool.refresh(0)
            except libvirt.libvirtError as e:
                if "has asynchronous jobs running" not in str(e):
                    raise
                break
            time.sleep(0.02)
    finally:
        spy.close()
    with Outage(podman_env, host, 3):
        pass
    uploading.join(timeout=120)

    assert not failure, failure
    assert result[0].capacity_bytes == size and result[0].format == "raw"
    assert len(heard) == 1 and RECONNECTED.match(heard[0]), heard
    volumes = [v for v in driver.list_volumes(host.storage_pool) if v.name == "outage-upload.raw"]
    assert [v.capacity_bytes for v in volumes] == [size]


def test_a_job_step_records_that_it_waited(host, podman_env, settings):  # noqa: F811
    settings.VMM_HOST_OUTAGE_WINDOW = 30
    with Outage(podman_env, host, 3):
        job = runner.run_inline("host_refresh", host)

    assert job.status == JobStatus.SUCCEEDED, job.error
    step = job.steps.get(name="Connect to the hypervisor")
    assert step.status == StepStatus.SUCCEEDED
    first, *rest = step.detail.splitlines()
    assert RECONNECTED.match(first), step.detail
    assert rest and rest[0].startswith("host-1: "), step.detail


# The steps whose first act is a call to the host: a restart as one begins is waited out there.
# "Choose a host" reads the database and "Configure the guest" runs virt-customize on the
# worker's side; their restarts are over before the next call to the host (checked below).
CALLS_THE_HOST_FIRST = CREATE_STEPS[1:3] + CREATE_STEPS[4:]


def test_a_deploy_rides_through_a_libvirtd_restart_as_each_of_its_steps_begins(
    host,
    podman_env,  # noqa: F811
    customer,
    admin_user,
    plain_image,
    settings,
    django_capture_on_commit_callbacks,
):
    """A real TCG guest deployed while libvirtd restarts (stopped, started 3 s later) as
    each of the seven steps begins: the order succeeds, and every step that talks to the
    host at once says it waited."""
    settings.VMM_HOST_OUTAGE_WINDOW = 60
    outages, restarted = [], []

    def restart_when_step_starts(sender, job, step, **kwargs):
        # Once per step: the signal also comes with each line the step notes.
        if step.status == StepStatus.RUNNING and step.name not in restarted:
            restarted.append(step.name)
            if outages:  # one restart at a time: the previous one is over first
                outages[-1].__exit__(None, None, None)
            outages.append(Outage(podman_env, host, 3).__enter__())

    signals.step_changed.connect(restart_when_step_starts)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            vm, job = create_vm(
                customer,
                actor=admin_user,
                host=host,
                name="rides-1",
                image=plain_image,
                password="Correct-Horse-7",
                vcpus=1,
                memory_mb=512,
                disk_gb=2,
            )
    finally:
        signals.step_changed.disconnect(restart_when_step_starts)
        for outage_ in outages:
            outage_.__exit__(None, None, None)

    job.refresh_from_db()
    details = {s.name: s.detail for s in job.steps.all()}
    assert job.status == JobStatus.SUCCEEDED, (job.error, details)
    assert restarted == CREATE_STEPS
    for name in CALLS_THE_HOST_FIRST:
        assert any(RECONNECTED.match(line) for line in details[name].splitlines()), (name, details[name])
    vm.refresh_from_db()
    assert vm.power_state == PowerState.RUNNING
    assert hypervisor_for(host).get_domain(vm.domain_name).state == "running"

    with django_capture_on_commit_callbacks(execute=True):
        removal = delete_vm(vm, actor=customer)
    removal.refresh_from_db()
    assert removal.status == JobStatus.SUCCEEDED, removal.error


@pytest.mark.django_db(transaction=True)  # the watcher reads the database from its own thread
def test_an_outage_longer_than_the_window_fails_the_order_and_leaves_nothing_once_the_host_is_back(
    host,
    podman_env,  # noqa: F811
    customer,
    admin_user,
    blank_image,
    settings,
):
    """libvirtd stopped for 25 s as the deploy waits for the guest, with a 5 s window: the
    order fails with the reason, the clean-up is owed (the VM says so), and once the host is
    back the watcher removes the running domain, the disk and the seed: nothing of the order
    is left. The image is blank (tests/deploy/conftest.py): the guest never has to come up."""
    settings.VMM_HOST_OUTAGE_WINDOW = 5
    outages = []

    def stop_as_the_guest_boots(sender, job, step, **kwargs):
        if step.status == StepStatus.RUNNING and step.name == CREATE_STEPS[-1] and not outages:
            outages.append(Outage(podman_env, host, 25).__enter__())

    signals.step_changed.connect(stop_as_the_guest_boots)
    with running_watcher(retry_seconds=1):
        try:
            vm, job = create_vm(  # the job runs at once, in this thread (Q_CLUSTER sync)
                customer,
                actor=admin_user,
                host=host,
                name="too-long",
                image=blank_image,
                password="Correct-Horse-7",
                vcpus=1,
                memory_mb=512,
                disk_gb=2,
            )
            job.refresh_from_db()
            vm.refresh_from_db()
            debt = OwedCleanup.objects.get(vm=vm)
            pending_while_down = with_cleanup_pending(VirtualMachine.objects.filter(pk=vm.pk)).get().cleanup_pending
        finally:
            signals.step_changed.disconnect(stop_as_the_guest_boots)
            for outage_ in outages:
                outage_.__exit__(None, None, None)

        assert outages, "libvirtd was never stopped"
        assert job.status == JobStatus.FAILED
        step = job.steps.get(name=CREATE_STEPS[-1])
        assert step.status == StepStatus.FAILED
        assert "host host-1 unreachable for 5 s" in step.detail + job.error, (step.detail, job.error)
        assert vm.status == VmStatus.FAILED
        assert pending_while_down and debt.done_at is None
        assert debt.domain_name == vm.domain_name and {vm.disk_volume, seed_volume(vm)} <= set(debt.volumes)

        # Back: the watcher reconnects, reconciles and settles what is owed.
        wait_for(lambda: OwedCleanup.objects.get(pk=debt.pk).done_at, 90)

    debt.refresh_from_db()
    # Settled by whichever of the watcher's two passes gets there first once the host is back:
    # the owed clean-up itself, or the host reconciliation removing the order's leftovers.
    assert debt.outcome in ("removed", "removed by the host reconciliation"), debt.outcome
    driver = hypervisor_for(host)
    assert vm.domain_name not in [d.name for d in driver.list_domains()]
    assert not [v.name for v in driver.list_volumes(host.storage_pool) if v.name.startswith(f"vmm-{vm.uuid}")]
