"""Public addresses at order time: one from each pool of the host's network, never one
address for two VMs (also under 20 parallel orders), refused naming an exhausted pool,
released after the cool-down, kept by a reinstall, within the address quota."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.accounts.quotas import Quota
from apps.ipam.models import Address
from apps.ipam.pools import create_pool, usage
from apps.jobs.models import Job
from apps.vms import changes
from apps.vms.create import create_vm
from apps.vms.models import VirtualMachine

ORDER = {"vcpus": 1, "memory_mb": 512, "disk_gb": 4, "password": "Correct-Horse-7"}


def order(owner, image, name, **more):
    return create_vm(owner, image=image, name=name, **{**ORDER, **more})


def addresses(vm):
    return sorted(Address.objects.filter(vm=vm).values_list("address", "prefixlen"))


def test_an_order_takes_one_address_from_each_pool_of_the_hosts_network(customer, ready_image, v4_pool, v6_pool):
    vm, job = order(customer, ready_image, "a")
    other, _job = order(customer, ready_image, "b")

    assert addresses(vm) == [("198.51.100.10", 24), ("2001:db8::1", 64)]
    assert addresses(other) == [("198.51.100.11", 24), ("2001:db8:0:1::1", 64)]
    assert usage(v4_pool) == {"total": 5, "used": 2, "reserved": 0, "cooling": 0, "free": 3}


def test_reserved_addresses_are_never_handed_out(customer, ready_image, v4_pool):
    Address.objects.filter(pool=v4_pool, address="198.51.100.10").update(reserved=True)
    vm, _job = order(customer, ready_image, "a")
    assert addresses(vm) == [("198.51.100.11", 24)]
    assert usage(v4_pool)["reserved"] == 1


def test_an_exhausted_pool_refuses_the_order_by_name_and_nothing_is_kept(customer, ready_image, v4_pool):
    for i in range(5):
        order(customer, ready_image, f"vm-{i}")
    with pytest.raises(ValidationError) as refused:
        order(customer, ready_image, "one-too-many")

    assert refused.value.message_dict == {"network": ["Pool v4 has no free address."]}
    assert not VirtualMachine.objects.filter(name="one-too-many").exists()
    assert Job.objects.count() == 5


def test_a_host_without_a_managed_network_orders_as_before(customer, ready_image, v4_pool, public_net, roomy_host):
    public_net.hosts.remove(roomy_host)
    vm, _job = order(customer, ready_image, "a")
    assert addresses(vm) == []


def test_a_typed_address_is_refused_where_the_pools_decide(customer, ready_image, v4_pool):
    typed = {"address": "198.51.100.99/24", "gateway": "198.51.100.1"}
    with pytest.raises(ValidationError) as refused:
        order(customer, ready_image, "a", network=typed)
    assert "network" in refused.value.message_dict


def test_the_address_quota_counts_what_an_order_takes(customer, ready_image, v4_pool, v6_pool):
    Quota.objects.create(user=customer, max_addresses=3)
    order(customer, ready_image, "a")  # two addresses
    with pytest.raises(ValidationError) as refused:
        order(customer, ready_image, "b")
    assert "max_addresses" in refused.value.message_dict["quota"][0]
    assert usage(v4_pool)["used"] == 1  # the refused order's addresses went back


def test_delete_releases_after_the_cool_down(customer, ready_image, v4_pool, settings):
    settings.VMM_ADDRESS_COOLDOWN = 3600
    vm, _job = order(customer, ready_image, "a")
    VirtualMachine.objects.filter(pk=vm.pk).update(host=None)  # never placed: deleted at once
    vm.refresh_from_db()
    Address.objects.filter(vm=vm).update(reverse_name="a.example.com.")
    changes.delete_vm(vm, actor=customer)

    released = Address.objects.get(address="198.51.100.10")
    assert released.vm is None and released.released_at is not None and released.reverse_name == ""
    assert usage(v4_pool)["cooling"] == 1
    nxt, _job = order(customer, ready_image, "b")
    assert addresses(nxt) == [("198.51.100.11", 24)]  # not the cooling one

    Address.objects.filter(pk=released.pk).update(released_at=timezone.now() - timedelta(seconds=3601))
    after, _job = order(customer, ready_image, "c")
    assert addresses(after) == [("198.51.100.10", 24)]


def test_the_delete_job_releases_the_addresses(customer, ready_image, v4_pool, monkeypatch):
    from apps.vms.operations import vm_delete

    monkeypatch.setattr(vm_delete, "remove_from_host", lambda vm: None)
    vm, _job = order(customer, ready_image, "a")

    class Ctx:
        def step(self, name):
            from contextlib import nullcontext

            return nullcontext()

        def note(self, text):
            self.noted = text

    ctx = Ctx()
    vm_delete.run(ctx, vm)
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    assert Address.objects.get(address="198.51.100.10").released_at is not None
    assert ctx.noted == "1 public address(es) released"


def test_reinstall_keeps_the_addresses_and_refuses_a_typed_one(customer, ready_image, v4_pool):
    vm, _job = order(customer, ready_image, "a")
    Job.objects.all().update(status="succeeded")
    VirtualMachine.objects.filter(pk=vm.pk).update(current_job=None, status="active")
    vm.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        changes.reinstall_vm(
            vm, password="Correct-Horse-8", network={"address": "198.51.100.99/24", "gateway": "198.51.100.1"}
        )
    assert "network" in refused.value.message_dict

    changes.reinstall_vm(vm, password="Correct-Horse-8", actor=customer)
    assert addresses(vm) == [("198.51.100.10", 24)]


def test_a_new_pool_is_checked_field_by_field(public_net):
    with pytest.raises(ValidationError) as refused:
        create_pool(network=public_net, name="bad", subnet="198.51.100.1/24", gateway="203.0.113.1")
    assert set(refused.value.message_dict) == {"subnet"}
    with pytest.raises(ValidationError) as refused:
        create_pool(network=public_net, name="bad", subnet="198.51.100.0/24", gateway="203.0.113.1")
    assert set(refused.value.message_dict) == {"gateway"}
    with pytest.raises(ValidationError) as refused:
        create_pool(network=public_net, name="bad", subnet="2001:db8::/32")
    assert set(refused.value.message_dict) == {"subnet"}  # too many single addresses: give ranges


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_orders_against_five_free_addresses_make_exactly_five_vms(customer, ready_image, v4_pool):
    def run(i):
        try:
            return order(customer, ready_image, f"vm-{i}")
        except ValidationError as exc:
            return exc.message_dict
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as threads:
        outcomes = list(threads.map(run, range(20)))

    made = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, dict)]
    assert len(made) == 5 and len(refused) == 15
    assert all(r == {"network": ["Pool v4 has no free address."]} for r in refused)
    taken = list(Address.objects.filter(vm__isnull=False).values_list("address", flat=True))
    assert sorted(taken) == [f"198.51.100.{i}" for i in range(10, 15)]
    assert VirtualMachine.objects.count() == 5


def test_a_vm_deleted_in_the_admin_also_releases_with_the_cool_down(customer, ready_image, v4_pool):
    vm, _job = order(customer, ready_image, "a")
    Job.objects.all().delete()
    VirtualMachine.objects.filter(pk=vm.pk).update(current_job=None)
    VirtualMachine.objects.get(pk=vm.pk).delete()
    assert usage(v4_pool) == {"total": 5, "used": 0, "reserved": 0, "cooling": 1, "free": 4}


def test_the_host_check_names_a_missing_managed_network(public_net, roomy_host):
    from apps.hosts.services import refresh_host

    refresh_host(roomy_host)
    roomy_host.refresh_from_db()
    assert "The libvirt network 'vmm-test-public' is missing on the host." in roomy_host.status_reason
