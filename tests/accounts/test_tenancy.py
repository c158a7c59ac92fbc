import pytest

from apps.accounts.models import Role, User
from apps.accounts.tenancy import visible_users
from apps.images.models import Image, ImageStatus, Visibility
from apps.images.selectors import visible_images
from apps.jobs.models import Job
from apps.jobs.selectors import visible_jobs
from apps.vms.models import VirtualMachine
from apps.vms.selectors import visible_vms


@pytest.fixture
def world(admin_user, reseller, customer, other_customer):
    other_reseller = User.objects.create_user("reseller-2", role=Role.RESELLER)
    their_customer = User.objects.create_user("customer-3", role=Role.CUSTOMER, reseller=other_reseller)
    vms = {
        u.username: VirtualMachine.objects.create(name="vm", owner=u)
        for u in (customer, other_customer, their_customer)
    }
    for vm in vms.values():
        Job.objects.create(kind="vm_start", target=vm, owner=vm.owner, request_id="r-00000001")

    def image(name, owner, visibility, shared_with=()):
        img = Image.objects.create(
            name=name,
            owner=owner,
            visibility=visibility,
            status=ImageStatus.READY,
            virtual_size_bytes=1,
            checksum_sha256="0" * 64,
        )
        img.shared_with.set(shared_with)
        return img

    images = {
        "public": image("public", None, Visibility.PUBLIC),
        "mine": image("mine", customer, Visibility.PRIVATE),
        "theirs": image("theirs", other_customer, Visibility.PRIVATE),
        "shared-with-me": image("shared-with-me", other_customer, Visibility.SHARED, [customer]),
        "shared-elsewhere": image("shared-elsewhere", their_customer, Visibility.SHARED, [other_customer]),
    }
    return {"vms": vms, "images": images, "other_reseller": other_reseller}


def names(qs, attr="owner__username"):
    return sorted(qs.values_list(attr, flat=True))


def test_a_customer_sees_only_its_own_vms_and_jobs(world, customer):
    assert names(visible_vms(customer)) == ["customer-1"]
    assert names(visible_jobs(customer)) == ["customer-1"]
    assert names(visible_users(customer), "username") == ["customer-1"]


def test_a_reseller_sees_its_customers_and_theirs_only(world, reseller):
    assert names(visible_vms(reseller)) == ["customer-1"]
    assert names(visible_users(reseller), "username") == ["customer-1", "reseller-1"]


def test_an_admin_sees_everything(world, admin_user):
    assert visible_vms(admin_user).count() == 3
    assert visible_images(admin_user).count() == 5


def test_images_are_visible_when_public_own_or_shared_with_the_user(world, customer):
    assert names(visible_images(customer), "name") == ["mine", "public", "shared-with-me"]


def test_a_reseller_sees_its_customers_images_but_not_images_shared_among_others(world, reseller):
    assert names(visible_images(reseller), "name") == ["mine", "public"]
