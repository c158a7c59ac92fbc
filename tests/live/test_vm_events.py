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
