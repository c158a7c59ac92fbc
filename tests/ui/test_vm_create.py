import pytest
from django.urls import reverse

from apps.hosts.models import Host
from apps.images.models import Image, Visibility
from apps.jobs.models import Job
from apps.vms.models import VirtualMachine

STRONG = "Str0ng-enough-pw"


@pytest.fixture
def order(ready_image):
    return {"name": "web-9", "image": ready_image.pk, "vcpus": 1, "memory_mb": 1024, "disk_gb": 10, "password": STRONG}


def test_the_form_offers_only_usable_images_and_no_host_choice_to_customers(as_customer, ready_image, other_customer):
    Image.objects.create(name="not-mine", owner=other_customer, visibility=Visibility.PRIVATE, status="ready",
                         virtual_size_bytes=1, checksum_sha256="3" * 64)  # fmt: skip
    form = as_customer.get(reverse("ui:vm_create")).context["form"]
    assert [i.name for i in form.fields["image"].queryset] == ["debian-12"]
    assert "host" not in form.fields


def test_staff_may_pin_a_host(as_admin, sized_host):
    form = as_admin.get(reverse("ui:vm_create")).context["form"]
    assert list(form.fields["host"].queryset) == [sized_host]


def test_ordering_a_vm_goes_straight_to_its_live_deploy_job(as_customer, customer, sized_host, order):
    response = as_customer.post(reverse("ui:vm_create"), order, HTTP_X_REQUEST_ID="ui-order-00001")

    vm = VirtualMachine.objects.get(name="web-9")
    job = Job.objects.get(kind="vm_create")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    assert vm.owner == customer and vm.host == sized_host and job.request_id == "ui-order-00001"
    assert STRONG not in str(job.params)


def test_saved_and_pasted_keys_both_reach_the_job(as_customer, customer, sized_host, order):
    from apps.accounts.sshkeys import SshKey

    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDu3wnXnY1bHzZzQ2b4m7vV3pZQ0rj3x9KqS7qZx2d2e laptop"
    saved = SshKey(owner=customer, name="laptop", public_key=key)
    saved.full_clean()
    saved.save()
    as_customer.post(reverse("ui:vm_create"), {**order, "password": "", "saved_keys": [saved.pk], "ssh_keys": key})
    assert Job.objects.get(kind="vm_create").params["ssh_keys"] == [key, key]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "bad name!"}, "name"),
        ({"password": "weak"}, "password"),
        ({"password": ""}, "password"),
        ({"ssh_keys": "ssh-rsa not-a-key"}, "ssh_keys"),
        ({"hostname": "-bad-"}, "hostname"),
        ({"disk_gb": 1}, "disk_gb"),
    ],
)
def test_each_refusal_is_shown_on_its_own_field(as_customer, sized_host, order, change, field):
    response = as_customer.post(reverse("ui:vm_create"), {**order, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not VirtualMachine.objects.exists()


def test_no_room_on_any_host_is_shown_above_the_form_to_a_customer(as_customer, sized_host, order):
    response = as_customer.post(reverse("ui:vm_create"), {**order, "memory_mb": 65536})
    assert "No online host has room" in response.context["form"].non_field_errors()[0]


def test_no_room_on_a_pinned_host_is_shown_on_the_host_field(as_admin, sized_host, order):
    Host.objects.filter(pk=sized_host.pk).update(memory_mb=512)
    response = as_admin.post(reverse("ui:vm_create"), {**order, "host": sized_host.pk})
    assert "has no room" in response.context["form"].errors["host"][0]
