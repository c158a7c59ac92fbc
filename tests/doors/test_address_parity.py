"""Setting a public address's reverse DNS name answers the same through the web UI and the
API: refused for the same reason (a bad name, someone else's address), accepted with the
same stored name."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from apps.ipam.models import Address, Network
from apps.ipam.pools import create_pool
from apps.vms.models import VirtualMachine
from tests.doors.outcomes import api_outcome, assert_same, doors, rolled_back, ui_outcome

UI_ROUTES = {"address_reverse": "address_reverse"}
API_ROUTES = {("address", "partial_update"): "address_reverse"}


def ui(client, address, name):
    return client.post(reverse("ui:address_reverse", args=[address.pk]), {"reverse_name": name})


def api(client, address, name):
    return client.patch(f"/api/v1/addresses/{address.pk}/", {"reverse_name": name}, format="json")


@pytest.fixture
def world(admin_user, reseller, customer, other_customer, test_host):
    network = Network.objects.create(name="public", libvirt_network="public")
    pool = create_pool(network=network, name="v4", subnet="198.51.100.0/29", gateway="198.51.100.1")
    mine = VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host)
    theirs = VirtualMachine.objects.create(name="web-2", owner=other_customer, host=test_host)
    rows = list(Address.objects.filter(pool=pool).order_by("position"))
    Address.objects.filter(pk=rows[0].pk).update(vm=mine)
    Address.objects.filter(pk=rows[1].pk).update(vm=theirs)
    users = {"admin": admin_user, "reseller": reseller, "customer": customer}
    return SimpleNamespace(users=users, mine=rows[0], theirs=rows[1], free=rows[2])


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
