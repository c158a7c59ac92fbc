"""Extra public addresses on a running VM (apps.vms.addresses): staff and resellers add and
remove them, within the address quota, through jobs that rebind the interface filter (read
back from the domain's XML on libvirt's test driver) and tell the guest when its agent answers."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.accounts.models import Role, User
from apps.accounts.quotas import Quota
from apps.hosts.hypervisor import hypervisor_for
from apps.ipam.models import Address
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.virt.domain_xml import parse_domain_xml
from apps.vms.addresses import add_address, remove_address
from apps.vms.create import create_vm
from apps.vms.deploy.steps import domain_spec
from apps.vms.models import VirtualMachine, VmStatus

ORDER = {"vcpus": 1, "memory_mb": 512, "disk_gb": 4, "password": "Correct-Horse-7"}


@pytest.fixture
def running_vm(customer, ready_image, v4_pool):
    """An ordered VM (one address of v4) whose domain runs on the test driver with its filter."""
    vm, _job = create_vm(customer, image=ready_image, name="extra", **ORDER)
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.ACTIVE, current_job=None)
    vm.refresh_from_db()
    driver = hypervisor_for(vm.host)
    driver.define(domain_spec(vm, "/default-pool/extra.qcow2"))
    driver.start(vm.domain_name)
    yield vm
    driver.destroy(vm.domain_name)
    driver.undefine(vm.domain_name)


def filter_ips(vm):
    nic = parse_domain_xml(hypervisor_for(vm.host).domain_xml(vm.domain_name, inactive=True)).nics[0]
    return nic.filter, [value for name, value in nic.filter_params if name == "IP"]


def held(vm):
    return sorted(Address.objects.filter(vm=vm).values_list("address", flat=True))


def run(job):
    return runner.execute(job.pk)


def test_staff_adds_then_removes_an_address_and_the_filter_follows(running_vm, admin_user):
    job = run(add_address(running_vm, actor=admin_user, request_id="req-add"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.request_id == "req-add"
    assert held(running_vm) == ["198.51.100.10", "198.51.100.11"]
    assert filter_ips(running_vm) == ("clean-traffic", ["198.51.100.10", "198.51.100.11"])
    guest = job.steps.get(name="Configure the guest")
    assert "configure 198.51.100.11/24 in the guest yourself" in guest.detail

    added = Address.objects.get(address="198.51.100.11")
    job = run(remove_address(running_vm, added.pk, actor=admin_user))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert held(running_vm) == ["198.51.100.10"]
    assert filter_ips(running_vm) == ("clean-traffic", ["198.51.100.10"])
    added.refresh_from_db()
    assert added.released_at is not None  # cooling down, not handed out at once


def test_the_last_address_of_a_pool_stays(running_vm, admin_user):
    only = Address.objects.get(vm=running_vm)
    with pytest.raises(ValidationError) as caught:
        remove_address(running_vm, only.pk, actor=admin_user)
    assert "last address of pool v4" in caught.value.message_dict["address"][0]


def test_the_reseller_of_the_owner_may_and_the_customer_may_not(running_vm, reseller, customer):
    with pytest.raises(PermissionDenied):
        add_address(running_vm, actor=customer)
    job = add_address(running_vm, actor=reseller)
    assert job.kind == "vm_address_add"
    assert len(held(running_vm)) == 2


def test_another_reseller_does_not_see_the_vm(running_vm):
    stranger = User.objects.create_user("reseller-2", password="pw-reseller-2", role=Role.RESELLER)
    with pytest.raises(Http404):
        add_address(running_vm, actor=stranger)
    with pytest.raises(Http404):
        remove_address(running_vm, Address.objects.get(vm=running_vm).pk, actor=stranger)
    assert len(held(running_vm)) == 1


def test_the_address_quota_refuses_and_nothing_is_kept(running_vm, admin_user, reseller):
    Quota.objects.create(user=reseller, max_addresses=1)
    with pytest.raises(ValidationError) as caught:
        add_address(running_vm, actor=admin_user)
    assert caught.value.error_dict["quota"][0].code == "quota_exceeded"
    assert "max_addresses" in caught.value.message_dict["quota"][0]
    assert held(running_vm) == ["198.51.100.10"]


def test_an_exhausted_pool_is_named_and_a_foreign_pool_refused(running_vm, admin_user):
    Address.objects.filter(pool__name="v4", vm__isnull=True).update(reserved=True)
    with pytest.raises(ValidationError) as caught:
        add_address(running_vm, pool="v4", actor=admin_user)
    assert caught.value.message_dict["pool"] == ["Pool v4 has no free address."]
    with pytest.raises(ValidationError) as caught:
        add_address(running_vm, pool="nope", actor=admin_user)
    assert "pool" in caught.value.message_dict


def test_an_add_failing_before_the_filter_changed_gives_the_address_back(running_vm, admin_user):
    job = add_address(running_vm, actor=admin_user)
    hypervisor_for(running_vm.host).destroy(running_vm.domain_name)
    hypervisor_for(running_vm.host).undefine(running_vm.domain_name)
    job = run(job)
    assert job.status == JobStatus.FAILED
    assert held(running_vm) == ["198.51.100.10"]
    assert Address.objects.get(address="198.51.100.11").released_at is None  # free again at once
    driver = hypervisor_for(running_vm.host)
    driver.define(domain_spec(running_vm, "/default-pool/extra.qcow2"))
    driver.start(running_vm.domain_name)


def test_the_vm_page_offers_the_buttons_to_staff_and_resellers_only(running_vm, admin_user, reseller, customer):
    from django.test import Client
    from django.urls import reverse

    for user, shown in ((admin_user, True), (reseller, True), (customer, False)):
        client = Client()
        client.force_login(user)
        page = client.get(reverse("ui:vm_detail", args=[running_vm.pk])).content.decode()
        assert ("data-address-add" in page, "data-address-remove" in page) == (shown, shown)
        assert client.get(reverse("ui:vm_address_add", args=[running_vm.pk])).status_code == (200 if shown else 404)
