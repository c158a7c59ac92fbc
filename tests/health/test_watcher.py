"""The host watcher on a test:/// host: lifecycle events change VMs within 2 s (the
reconciliation interval is 10 minutes here, so only an event can do it), live pages hear
of it, and hosts come and go."""

import pytest
from channels.db import database_sync_to_async

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.jobs.models import Job
from apps.virt import connection
from apps.virt.types import DomainSpec
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.health.conftest import make_vm, power_of, running_watcher, wait_for
from tests.live.conftest import connected, receive, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def watching(watcher, host):
    """True once the watcher's thread for `host` watches its events and has reconciled once
    (so a change made after this can only reach the VM through an event)."""
    watch = watcher.watches.get(host.pk)
    return watch is not None and watch.synced


def test_domains_stopped_started_paused_or_undefined_behind_the_panels_back_change_their_vm(customer, test_host):
    vm = make_vm(customer, test_host, "web-1")
    driver = hypervisor_for(test_host)
    with running_watcher() as watcher:
        wait_for(lambda: watching(watcher, test_host), 10)

        driver.destroy(vm.domain_name)
        wait_for(lambda: power_of(vm) == PowerState.STOPPED, 2)
        driver.start(vm.domain_name)
        wait_for(lambda: power_of(vm) == PowerState.RUNNING, 2)
        driver.suspend(vm.domain_name)
        wait_for(lambda: power_of(vm) == PowerState.PAUSED, 2)
        driver.destroy(vm.domain_name)
        driver.undefine(vm.domain_name)
        wait_for(lambda: power_of(vm) == PowerState.MISSING, 2)

    vm.refresh_from_db()
    assert vm.status == VmStatus.ACTIVE and vm.state_synced_at is not None


def test_events_for_a_vm_a_job_holds_record_power_but_never_status(customer, test_host):
    job = Job.objects.create(kind="vm_reinstall", request_id="t")
    vm = make_vm(customer, test_host, "busy", current_job=job)
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.CREATING)
    with running_watcher() as watcher:
        wait_for(lambda: watching(watcher, test_host), 10)
        hypervisor_for(test_host).destroy(vm.domain_name)
        wait_for(lambda: power_of(vm) == PowerState.STOPPED, 2)
    vm.refresh_from_db()
    assert (vm.status, vm.current_job_id) == (VmStatus.CREATING, job.pk)


@pytest.mark.asyncio
async def test_a_page_watching_the_vm_hears_the_change(customer, test_host):
    vm = await database_sync_to_async(make_vm)(customer, test_host, "live")
    cookie = await database_sync_to_async(session_cookie)(customer)
    page = await connected(cookie)
    await page.send_json_to({"action": "subscribe", "vms": [vm.pk]})
    assert (await receive(page))["vms"][0]["power_state"] == "running"
    with running_watcher() as watcher:
        await database_sync_to_async(wait_for)(lambda: watching(watcher, test_host), 10)

        hypervisor_for(test_host).destroy(vm.domain_name)

        event = await receive(page, timeout=2)
        assert event["type"] == "vm.state"
        assert (event["vm"]["id"], event["vm"]["power_state"]) == (vm.pk, "stopped")
    await page.disconnect()


def test_a_host_that_answers_again_is_online_and_reconciled_at_once(customer, test_host):
    vm = make_vm(customer, test_host, "away")
    hypervisor_for(test_host).destroy(vm.domain_name)  # while nobody watched
    Host.objects.filter(pk=test_host.pk).update(status=HostStatus.UNREACHABLE, status_reason="Connection lost: x")
    with running_watcher():
        wait_for(lambda: Host.objects.get(pk=test_host.pk).status == HostStatus.ONLINE, 10)
        wait_for(lambda: power_of(vm) == PowerState.STOPPED, 5)
    assert Host.objects.get(pk=test_host.pk).status_reason == ""


def test_a_host_that_does_not_answer_is_unreachable_with_the_reason(test_host):
    Host.objects.filter(pk=test_host.pk).update(uri="qemu+tcp://127.0.0.1:1/system")
    with running_watcher():
        host = wait_for(lambda: Host.objects.filter(pk=test_host.pk, status=HostStatus.UNREACHABLE).first(), 10)
    assert "127.0.0.1:1" in host.status_reason


def test_a_host_in_maintenance_is_not_watched(customer, test_host):
    vm = make_vm(customer, test_host, "quiet")
    Host.objects.filter(pk=test_host.pk).update(status=HostStatus.MAINTENANCE)
    with running_watcher() as watcher:
        wait_for(lambda: watcher.active, 5)
        hypervisor_for(test_host).destroy(vm.domain_name)
        assert watcher.watches == {}
    assert Host.objects.get(pk=test_host.pk).status == HostStatus.MAINTENANCE
    assert power_of(vm) == PowerState.RUNNING


def test_a_host_another_process_declared_lost_is_online_again_when_it_answers_the_watcher(test_host):
    with running_watcher(reconcile_seconds=1) as watcher:
        wait_for(lambda: watching(watcher, test_host), 10)
        # What a worker's close listener does when its own connection to the host drops.
        Host.objects.filter(pk=test_host.pk).update(status=HostStatus.UNREACHABLE, status_reason="Connection lost: y")
        wait_for(lambda: Host.objects.get(pk=test_host.pk).status == HostStatus.ONLINE, 5)


def test_a_connection_dropped_without_a_close_callback_is_noticed_and_watched_again(customer, test_host):
    vm = VirtualMachine.objects.create(
        name="later", owner=customer, host=test_host, status=VmStatus.ACTIVE, power_state=PowerState.UNKNOWN
    )
    with running_watcher() as watcher:
        wait_for(lambda: watching(watcher, test_host), 10)
        first = watcher.watches[test_host.pk]._watch
        wait_for(lambda: power_of(vm) == PowerState.MISSING, 5)  # the first reconciliation

        connection.invalidate(test_host.uri)  # what a call failing as unreachable does
        wait_for(lambda: watching(watcher, test_host) and watcher.watches[test_host.pk]._watch is not first, 10)

        driver = hypervisor_for(test_host)
        driver.define(DomainSpec(name=vm.domain_name, uuid=str(vm.uuid), domain_type="qemu", vcpus=1, memory_mb=128))
        # Stopped: by the event, or by the reconciliation after reconnecting, which runs first.
        wait_for(lambda: power_of(vm) == PowerState.STOPPED, 2)
        # So this one can only come through an event on the new connection.
        driver.start(vm.domain_name)
        wait_for(lambda: power_of(vm) == PowerState.RUNNING, 2)
    assert Host.objects.get(pk=test_host.pk).status == HostStatus.ONLINE
