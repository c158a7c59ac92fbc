"""Setting a public address's reverse DNS name, and adding or removing a VM's extra
addresses, answer the same through the web UI and the API: refused for the same reason (a
bad name, someone else's address, a customer, the quota, an exhausted pool, the last address
of a pool), accepted with the same stored name or the same job."""

from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.quotas import Quota
from apps.ipam.models import Address, Network
from apps.ipam.pools import create_pool
from apps.vms.models import VirtualMachine, VmStatus
from tests.doors.outcomes import api_outcome, assert_same, doors, rolled_back, ui_outcome

UI_ROUTES = {"address_reverse": "address_reverse", "vm_address_add": "add", "vm_address_remove": "remove"}
API_ROUTES = {
    ("address", "partial_update"): "address_reverse",
    ("vm", "add_address"): "add",
    ("vm", "remove_address"): "remove",
}


def ui(client, address, name):
    return client.post(reverse("ui:address_reverse", args=[address.pk]), {"reverse_name": name})


def api(client, address, name):
    return client.patch(f"/api/v1/addresses/{address.pk}/", {"reverse_name": name}, format="json")


@pytest.fixture
def world(admin_user, reseller, customer, other_customer, test_host):
    network = Network.objects.create(name="public", libvirt_network="public")
    pool = create_pool(network=network, name="v4", subnet="198.51.100.0/29", gateway="198.51.100.1")
    mine = VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, status=VmStatus.ACTIVE)
    theirs = VirtualMachine.objects.create(name="web-2", owner=other_customer, host=test_host)
    rows = list(Address.objects.filter(pool=pool).order_by("position"))
    Address.objects.filter(pk=rows[0].pk).update(vm=mine)
    Address.objects.filter(pk=rows[1].pk).update(vm=theirs)
    users = {"admin": admin_user, "reseller": reseller, "customer": customer}
    return SimpleNamespace(users=users, mine=rows[0], theirs=rows[1], free=rows[2], vm=mine, their_vm=theirs)


def names():
    return sorted(Address.objects.values_list("pk", "reverse_name"))


@pytest.mark.parametrize(
    ("actor", "which", "name", "verdict"),
    [
        ("customer", "mine", "not a name!", "refused"),
        ("customer", "mine", "-bad.example.com", "refused"),
        ("customer", "theirs", "mail.example.com", "forbidden"),
        ("reseller", "theirs", "mail.example.com", "forbidden"),
        ("admin", "free", "mail.example.com", "forbidden"),
    ],
)
def test_both_doors_refuse_the_same_name_for_the_same_reason(world, actor, which, name, verdict):
    ui_client, api_client = doors(world.users[actor])
    address, before = getattr(world, which), names()
    ui_answer = ui_outcome(ui(ui_client, address, name))
    api_answer = api_outcome(api(api_client, address, name))
    assert names() == before
    assert ui_answer.verdict == verdict, ui_answer.detail
    assert_same(ui_answer, api_answer)
    if verdict == "refused":
        assert {field for field, _message in api_answer.reasons} == {"reverse_name"}


@pytest.mark.parametrize("actor", ["customer", "reseller", "admin"])
def test_both_doors_store_the_same_name(world, actor):
    ui_client, api_client = doors(world.users[actor])
    with rolled_back():
        ui_answer = ui_outcome(ui(ui_client, world.mine, "Mail.Example.com"))
        after_ui = names()
    with rolled_back():
        api_answer = api_outcome(api(api_client, world.mine, "Mail.Example.com"))
        after_api = names()
    assert ui_answer.verdict == "accepted", ui_answer.detail
    assert_same(ui_answer, api_answer)
    assert after_ui == after_api
    assert dict(after_ui)[world.mine.pk] == "Mail.Example.com."


def add_ui(client, vm, pool=""):
    return client.post(reverse("ui:vm_address_add", args=[vm.pk]), {"pool": pool})


def add_api(client, vm, pool=""):
    return client.post(f"/api/v1/vms/{vm.pk}/addresses/", {"pool": pool}, format="json")


def remove_ui(client, vm, address):
    return client.post(reverse("ui:vm_address_remove", args=[vm.pk, address.pk]))


def remove_api(client, vm, address):
    return client.delete(f"/api/v1/vms/{vm.pk}/addresses/{address.pk}/")


def held():
    return sorted(Address.objects.filter(vm__isnull=False).values_list("pk", "vm_id"))


def exhausted(world):
    Address.objects.filter(vm__isnull=True).update(reserved=True)


def over_quota(world):
    Quota.objects.create(user=world.users["reseller"], max_addresses=1)


def in_rescue(world):
    type(world.vm).objects.filter(pk=world.vm.pk).update(rescue_since=timezone.now())


@pytest.mark.parametrize(
    ("actor", "which", "setup", "verdict", "fields"),
    [
        ("customer", "vm", None, "forbidden", None),
        ("reseller", "their_vm", None, "forbidden", None),
        ("admin", "vm", exhausted, "refused", {"pool"}),
        ("admin", "vm", over_quota, "refused", {"quota"}),
        ("admin", "vm", in_rescue, "refused", {"vm"}),
    ],
)
def test_both_doors_refuse_an_extra_address_alike(world, actor, which, setup, verdict, fields):
    if setup:
        setup(world)
    ui_client, api_client = doors(world.users[actor])
    vm, before = getattr(world, which), held()
    ui_answer = ui_outcome(add_ui(ui_client, vm, "v4" if setup is exhausted else ""))
    api_answer = api_outcome(add_api(api_client, vm, "v4" if setup is exhausted else ""))
    assert held() == before
    assert ui_answer.verdict == verdict, ui_answer.detail
    assert_same(ui_answer, api_answer)
    if fields:
        assert {field for field, _message in api_answer.reasons} == fields


@pytest.mark.parametrize("actor", ["reseller", "admin"])
def test_both_doors_add_an_address_with_the_same_job(world, actor):
    ui_client, api_client = doors(world.users[actor])
    with rolled_back():
        ui_answer = ui_outcome(add_ui(ui_client, world.vm))
        after_ui = held()
    with rolled_back():
        api_answer = api_outcome(add_api(api_client, world.vm))
        after_api = held()
    assert ui_answer.verdict == "accepted", ui_answer.detail
    assert ui_answer.job_kind == "vm_address_add"
    assert_same(ui_answer, api_answer)
    assert after_ui == after_api
    assert len([vm for _pk, vm in after_ui if vm == world.vm.pk]) == 2


def test_both_doors_keep_the_last_address_and_refuse_customers(world):
    before = held()
    for actor, verdict in (("admin", "refused"), ("customer", "forbidden")):
        ui_client, api_client = doors(world.users[actor])
        ui_answer = ui_outcome(remove_ui(ui_client, world.vm, world.mine))
        api_answer = api_outcome(remove_api(api_client, world.vm, world.mine))
        assert ui_answer.verdict == verdict, ui_answer.detail
        assert_same(ui_answer, api_answer)
    assert held() == before


def test_both_doors_remove_an_extra_address_with_the_same_job(world):
    Address.objects.filter(pk=world.free.pk).update(vm=world.vm)
    ui_client, api_client = doors(world.users["reseller"])
    with rolled_back():
        ui_answer = ui_outcome(remove_ui(ui_client, world.vm, world.free))
    with rolled_back():
        api_answer = api_outcome(remove_api(api_client, world.vm, world.free))
    assert ui_answer.verdict == "accepted", ui_answer.detail
    assert ui_answer.job_kind == "vm_address_remove"
    assert_same(ui_answer, api_answer)
