"""A queued deploy whose host is briefly lost waits for it (VMM_HOST_OUTAGE_WINDOW), or,
when staff did not pin the host, moves to another online host; a long outage still fails
the step with the reason (apps/vms/deploy/host_wait.py; libvirt's test driver).

The deploys here stop at "Copy the image to the host" (the image has no file): what is
tested is the step before it."""

import re
import threading
import time

import pytest
from django.db import connection

from apps.hosts.models import Host, HostStatus
from apps.jobs import runner
from apps.jobs.models import JobStatus, StepStatus
from apps.vms.create import create_vm
from apps.vms.models import VirtualMachine, VmStatus

ORDER = {"name": "web-1", "vcpus": 1, "memory_mb": 1024, "disk_gb": 4, "password": "Correct-Horse-7"}
ROOM = {"cpus": 4, "memory_mb": 8192, "disk_bytes": 100 * 2**30}


def queued_deploy(owner, host, image, *, pinned):
    """A deploy in the queue, as create_vm leaves it, for a VM placed on `host`."""
    vm = VirtualMachine.objects.create(
        name="web-1", owner=owner, host=host, image=image, status=VmStatus.CREATING, vcpus=1, memory_mb=1024, disk_gb=4
    )
    job = runner.submit("vm_create", vm, params={"hostname": "web-1", "host_pinned": pinned}, queue=False)
    return vm, job


def lose(host, reason="connection closed by the host (libvirtd stopped or host went down)"):
    Host.objects.filter(pk=host.pk).update(status=HostStatus.UNREACHABLE, status_reason=reason)


def choose_step(job):
    job.refresh_from_db()
    return job.steps.get(name="Choose a host")


def test_create_vm_records_whether_staff_pinned_the_host(
    customer, admin_user, test_host, ready_image, django_capture_on_commit_callbacks
):
    Host.objects.filter(pk=test_host.pk).update(**ROOM)
    with django_capture_on_commit_callbacks(execute=False):
        _vm, placed = create_vm(customer, image=ready_image, **ORDER)
        _vm, pinned = create_vm(
            customer, actor=admin_user, image=ready_image, host=test_host, **{**ORDER, "name": "db-1"}
        )
    assert placed.params["host_pinned"] is False
    assert pinned.params["host_pinned"] is True


@pytest.mark.django_db(transaction=True)
def test_a_deploy_waits_for_its_host_to_come_back_within_the_window(customer, test_host, ready_image, settings):
    settings.VMM_HOST_OUTAGE_WINDOW = 30
    Host.objects.filter(pk=test_host.pk).update(**ROOM)
    vm, job = queued_deploy(customer, test_host, ready_image, pinned=True)
    lose(test_host)

    def watcher_finds_it_again():  # what the host watcher does once libvirtd answers again
        time.sleep(2)
        Host.objects.filter(pk=test_host.pk).update(status=HostStatus.ONLINE, status_reason="")
        connection.close()

    back = threading.Thread(target=watcher_finds_it_again)
    back.start()
    started = time.monotonic()
    runner.execute(job.pk)
    back.join()

    step = choose_step(job)
    assert step.status == StepStatus.SUCCEEDED, step.detail
    waited = re.search(r"waited (\d+) s for test-host to be online again", step.detail)
    assert waited, step.detail
    assert 2 <= int(waited.group(1)) < 10  # the host was away 2 s; a loaded machine polls a little late
    assert time.monotonic() - started < 10
    vm.refresh_from_db()
    assert vm.host == test_host


def test_a_deploy_whose_host_stays_lost_fails_after_the_window_with_the_reason(
    customer, test_host, ready_image, settings
):
    settings.VMM_HOST_OUTAGE_WINDOW = 2
    Host.objects.filter(pk=test_host.pk).update(**ROOM)
    vm, job = queued_deploy(customer, test_host, ready_image, pinned=True)
    lose(test_host, reason="host stopped answering keepalive probes")
    started = time.monotonic()
    runner.execute(job.pk)

    assert 2 <= time.monotonic() - started < 6
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    step = choose_step(job)
    assert step.status == StepStatus.FAILED
    assert re.fullmatch(
        r"Host test-host is unreachable \(waited [23] s\): host stopped answering keepalive probes", step.detail
    ), step.detail
    vm.refresh_from_db()
    assert vm.status == VmStatus.FAILED


def test_an_unpinned_deploy_moves_to_another_online_host_at_once(customer, test_host, ready_image, settings):
    settings.VMM_HOST_OUTAGE_WINDOW = 60
    Host.objects.filter(pk=test_host.pk).update(**ROOM)
    far = Host.objects.create(name="far", uri="qemu+tcp://127.0.0.1:1/system", status=HostStatus.ONLINE, **ROOM)
    vm, job = queued_deploy(customer, far, ready_image, pinned=False)
    lose(far)
    started = time.monotonic()
    runner.execute(job.pk)

    assert time.monotonic() - started < 5  # did not wait for the lost host
    step = choose_step(job)
    assert step.status == StepStatus.SUCCEEDED, step.detail
    assert "far is unreachable: placed on test-host instead" in step.detail
    vm.refresh_from_db()
    assert vm.host == test_host


def test_a_pinned_deploy_does_not_move_and_a_host_in_maintenance_is_not_waited_for(
    customer, test_host, ready_image, settings
):
    settings.VMM_HOST_OUTAGE_WINDOW = 60
    Host.objects.filter(pk=test_host.pk).update(**ROOM)
    far = Host.objects.create(name="far", uri="qemu+tcp://127.0.0.1:1/system", status=HostStatus.MAINTENANCE, **ROOM)
    vm, job = queued_deploy(customer, far, ready_image, pinned=True)
    started = time.monotonic()
    runner.execute(job.pk)

    assert time.monotonic() - started < 5
    step = choose_step(job)
    assert step.status == StepStatus.FAILED
    assert step.detail == "Host far is in maintenance"
    vm.refresh_from_db()
    assert vm.host == far
