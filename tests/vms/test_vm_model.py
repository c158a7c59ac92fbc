import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.vms.models import VirtualMachine, VmStatus


@pytest.mark.parametrize("hostname", ["web-1", "web-1.example.com", "a" * 63])
def test_rfc1123_hostnames_are_accepted(customer, hostname):
    VirtualMachine(name="vm", owner=customer, hostname=hostname).clean()


@pytest.mark.parametrize("hostname", ["-web", "web_1", "a" * 64, "web..example", "web-.x"])
def test_other_hostnames_are_refused_naming_the_field(customer, hostname):
    with pytest.raises(ValidationError) as error:
        VirtualMachine(name="vm", owner=customer, hostname=hostname).clean()
    assert "hostname" in error.value.message_dict


def test_a_disk_smaller_than_the_image_is_refused(customer, ready_image):
    with pytest.raises(ValidationError) as error:
        VirtualMachine(name="vm", owner=customer, image=ready_image, disk_gb=1).clean()
    assert "disk_gb" in error.value.message_dict


def test_vm_names_are_unique_per_owner_only(customer, other_customer):
    VirtualMachine.objects.create(name="web", owner=customer)
    VirtualMachine.objects.create(name="web", owner=other_customer)
    with pytest.raises(IntegrityError):
        VirtualMachine.objects.create(name="web", owner=customer)


def test_an_active_vm_must_be_on_a_host(customer):
    with pytest.raises(IntegrityError):
        VirtualMachine.objects.create(name="web", owner=customer, status=VmStatus.ACTIVE)


def test_an_image_in_use_cannot_be_deleted(customer, ready_image):
    from django.db.models import ProtectedError

    VirtualMachine.objects.create(name="web", owner=customer, image=ready_image)
    with pytest.raises(ProtectedError):
        ready_image.delete()


def test_each_vm_gets_a_domain_name_no_user_can_collide_with(customer, other_customer):
    a = VirtualMachine.objects.create(name="web", owner=customer)
    b = VirtualMachine.objects.create(name="web", owner=other_customer)
    assert a.domain_name != b.domain_name
    assert a.domain_name == f"vmm-{a.uuid}"
