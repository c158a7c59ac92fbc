"""VM lists and pages subscribe to their VMs and redraw badges from `vm.state` events."""

import pytest
from channels.db import database_sync_to_async

from apps.live.publish import publish_vm
from apps.vms.models import PowerState, VirtualMachine
from tests.live.conftest import connected, receive

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def vms(customer, other_customer):
    mine = VirtualMachine.objects.create(name="mine", owner=customer, power_state=PowerState.STOPPED)
    theirs = VirtualMachine.objects.create(name="theirs", owner=other_customer)
    return mine, theirs


@database_sync_to_async
def power_on(vm):
    """What the lead's refresh_vm_state will do: store the new state, then publish it."""
    VirtualMachine.objects.filter(pk=vm.pk).update(power_state=PowerState.RUNNING, ip_addresses=["192.0.2.7"])
    vm.refresh_from_db()
    publish_vm(vm)


async def test_subscribing_sends_the_states_of_my_vms_and_names_the_others_missing(customer_cookie, vms):
    mine, theirs = vms
    communicator = await connected(customer_cookie)

    await communicator.send_json_to({"action": "subscribe", "vms": [mine.pk, theirs.pk]})

    snapshot = await receive(communicator)
    assert [(vm["name"], vm["power_state"]) for vm in snapshot["vms"]] == [("mine", "stopped")]
    assert snapshot["missing"] == [theirs.pk]
    await communicator.disconnect()


async def test_a_published_power_change_reaches_the_page_watching_that_vm(customer_cookie, vms):
    mine, _ = vms
    communicator = await connected(customer_cookie)
    await communicator.send_json_to({"action": "subscribe", "vms": [mine.pk]})
    await receive(communicator)

    await power_on(mine)

    event = await receive(communicator)
    assert event["type"] == "vm.state"
    assert (event["vm"]["id"], event["vm"]["power_state"], event["vm"]["ip_addresses"]) == (
        mine.pk,
        "running",
        ["192.0.2.7"],
    )
    await communicator.disconnect()


async def test_changes_of_vms_a_page_did_not_subscribe_to_are_not_sent(customer_cookie, vms):
    mine, theirs = vms
    communicator = await connected(customer_cookie)
    await communicator.send_json_to({"action": "subscribe", "vms": [mine.pk, theirs.pk]})
    await receive(communicator)

    await power_on(theirs)

    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_malformed_vm_list_is_a_bad_request(customer_cookie):
    communicator = await connected(customer_cookie)
    await communicator.send_json_to({"action": "subscribe", "vms": ["1; drop"]})
    assert (await receive(communicator))["error"] == "bad_request"
    await communicator.disconnect()


@database_sync_to_async
def host_with_vm(owner):
    from apps.hosts.models import Host, HostStatus

    # What libvirt's built-in test host has, so that its check passes (the host is "back").
    host = Host.objects.create(
        name="kvm-9", uri="test:///default", status=HostStatus.ONLINE, network="", domain_type="qemu",
        storage_pool="default-pool", storage_path="/default-pool",
    )  # fmt: skip
    return host, VirtualMachine.objects.create(name="on-kvm-9", owner=owner, host=host, power_state=PowerState.RUNNING)


@database_sync_to_async
def lose(host):
    from apps.hosts.health import connection_lost

    connection_lost(host.uri, "keepalive timeout")


@database_sync_to_async
def bring_back(host):
    from apps.hosts.services import refresh_host

    refresh_host(host)


async def test_a_lost_host_and_its_return_reach_the_pages_of_its_vms_at_once(customer_cookie, customer):
    """The watcher marks the host lost: an open page shows "Host unreachable" instead of the
    last known power state without a reload, and stops once the host check finds it back."""
    host, vm = await host_with_vm(customer)
    communicator = await connected(customer_cookie)
    await communicator.send_json_to({"action": "subscribe", "vms": [vm.pk]})
    snapshot = await receive(communicator)
    assert snapshot["vms"][0]["host_unreachable"] is False

    await lose(host)
    event = await receive(communicator)
    assert (event["type"], event["vm"]["id"], event["vm"]["host_unreachable"]) == ("vm.state", vm.pk, True)

    await bring_back(host)
    event = await receive(communicator)
    assert (event["vm"]["id"], event["vm"]["host_unreachable"]) == (vm.pk, False)
    await communicator.disconnect()
