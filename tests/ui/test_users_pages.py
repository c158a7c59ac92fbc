"""The users pages as staff, a reseller and a customer use them: who finds which user, the
list's search, filters and usage against quota, creating, editing, a new password, the
quota (a reseller within its own), blocking, and the audit entries each change leaves."""

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Role, User
from apps.accounts.quotas import Quota
from apps.jobs.models import Job
from tests.ui.conftest import make_vm

STRONG = "Str0ng-enough-pw"


@pytest.fixture
def as_reseller(client, reseller):
    client.force_login(reseller)
    return client


@pytest.fixture
def rival_customer(db):
    """Another reseller's customer."""
    rival = User.objects.create_user("reseller-2", role=Role.RESELLER)
    return User.objects.create_user("rival-customer", role=Role.CUSTOMER, reseller=rival)


def page(client, name, *args, **params):
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("name", ["ui:user_list", "ui:user_create"])
def test_customers_do_not_find_the_users_pages(as_customer, customer, name):
    assert as_customer.get(reverse(name)).status_code == 404
    assert as_customer.get(reverse("ui:user_detail", args=[customer.pk])).status_code == 404


def test_the_users_link_is_shown_to_staff_and_resellers_only(as_customer, reseller):
    assert reverse("ui:user_list") not in page(as_customer, "ui:dashboard")
    client = Client()
    client.force_login(reseller)
    assert reverse("ui:user_list") in page(client, "ui:dashboard")


def test_staff_list_every_user_with_search_and_filters(as_admin, reseller, customer, other_customer):
    everyone = page(as_admin, "ui:user_list")
    assert "reseller-1" in everyone and "customer-1" in everyone and "customer-2" in everyone

    resellers = page(as_admin, "ui:user_list", role="reseller")
    assert "reseller-1" in resellers and "customer-1" not in resellers

    User.objects.filter(pk=other_customer.pk).update(is_active=False)
    blocked = page(as_admin, "ui:user_list", is_active="false")
    assert "customer-2" in blocked and "customer-1" not in blocked

    found = page(as_admin, "ui:user_list", q="tomer-1")
    assert "customer-1" in found and "customer-2" not in found


def test_a_reseller_lists_its_customers_only_with_usage_against_quota(
    as_reseller, customer, other_customer, rival_customer, sized_host, ready_image
):
    make_vm(customer, sized_host, ready_image, name="c1-vm", vcpus=2)
    Quota.objects.create(user=customer, max_vms=3, max_vcpus=4)

    listed = page(as_reseller, "ui:user_list")

    assert "customer-1" in listed
    assert "customer-2" not in listed and "rival-customer" not in listed
    assert 'data-quota="vms">\n      1 / 3' in listed
    assert 'data-quota="vcpus">\n      2 / 4' in listed


def test_another_resellers_customer_is_not_found_on_any_users_page(as_reseller, rival_customer):
    for name in ["ui:user_detail", "ui:user_edit", "ui:user_password", "ui:user_quota"]:
        assert as_reseller.get(reverse(name, args=[rival_customer.pk])).status_code == 404, name
    for name in ["ui:user_block", "ui:user_unblock"]:
        assert as_reseller.post(reverse(name, args=[rival_customer.pk])).status_code == 404, name
    assert User.objects.get(pk=rival_customer.pk).is_active


def test_a_user_page_shows_its_vms_and_jobs(as_reseller, customer, sized_host, ready_image):
    vm = make_vm(customer, sized_host, ready_image, name="shown-vm")
    Job.objects.create(kind="vm_start", target=vm, target_repr=vm.name, owner=customer, actor=customer, request_id="r1")

    shown = page(as_reseller, "ui:user_detail", customer.pk)

    assert "shown-vm" in shown and reverse("ui:vm_detail", args=[vm.pk]) in shown
    assert "Start" in shown  # the job's operation
    assert reverse("ui:user_block", args=[customer.pk]) in shown


def test_a_reseller_creates_a_customer_of_its_own(as_reseller, reseller):
    form = page(as_reseller, "ui:user_create")
    assert 'name="role"' not in form and 'name="reseller"' not in form

    response = as_reseller.post(reverse("ui:user_create"), {"username": "new-1", "password": STRONG})

    user = User.objects.get(username="new-1")
    assert response["Location"] == reverse("ui:user_detail", args=[user.pk])
    assert (user.role, user.reseller_id) == (Role.CUSTOMER, reseller.pk)
    assert user.check_password(STRONG)


def test_staff_create_a_reseller(as_admin):
    as_admin.post(reverse("ui:user_create"), {"username": "res-9", "role": "reseller", "password": STRONG})
    assert User.objects.get(username="res-9").role == Role.RESELLER


def test_refusals_show_on_their_fields(as_reseller, customer):
    taken = as_reseller.post(reverse("ui:user_create"), {"username": "customer-1", "password": STRONG})
    assert taken.context["form"].errors["username"] == ["A user with that username already exists."]

    short = as_reseller.post(reverse("ui:user_create"), {"username": "new-2", "password": "Sh0rt!"})
    assert short.context["form"].errors["password"] == ["Use 10 to 128 characters."]
    assert not User.objects.filter(username="new-2").exists()


def test_editing_a_customer_and_setting_its_password(as_reseller, customer):
    as_reseller.post(
        reverse("ui:user_edit", args=[customer.pk]),
        {"username": "customer-1b", "email": "c@example.com", "first_name": "Ann", "last_name": "Lee"},
    )
    customer.refresh_from_db()
    assert (customer.username, customer.email, customer.get_full_name()) == ("customer-1b", "c@example.com", "Ann Lee")

    response = as_reseller.post(reverse("ui:user_password", args=[customer.pk]), {"password": STRONG})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.check_password(STRONG)


def test_a_reseller_sets_a_quota_within_its_own_only(as_reseller, reseller, customer):
    Quota.objects.create(user=reseller, max_vms=5)
    beyond = as_reseller.post(reverse("ui:user_quota", args=[customer.pk]), {"max_vms": "6"})
    assert beyond.context["form"].errors["max_vms"] == ["At most your own limit of 5 VMs."]
    assert not Quota.objects.filter(user=customer).exists()

    as_reseller.post(reverse("ui:user_quota", args=[customer.pk]), {"max_vms": "2", "max_vcpus": "4"})
    quota = Quota.objects.get(user=customer)
    assert (quota.max_vms, quota.max_vcpus, quota.max_memory_mb) == (2, 4, None)


def test_nobody_sets_its_own_quota_or_blocks_itself(as_reseller, reseller):
    assert as_reseller.get(reverse("ui:user_quota", args=[reseller.pk])).status_code == 404
    assert as_reseller.post(reverse("ui:user_block", args=[reseller.pk])).status_code == 404
    assert User.objects.get(pk=reseller.pk).is_active


def test_staff_reset_a_lost_authenticator_from_the_users_page_and_resellers_are_not_offered_it(
    admin_user, reseller, customer
):
    as_admin, as_reseller = Client(), Client()
    as_admin.force_login(admin_user)
    as_reseller.force_login(reseller)
    TOTPDevice.objects.create(user=customer, name="phone", confirmed=True)
    reset_url = reverse("ui:user_reset_two_factor", args=[customer.pk])
    assert reset_url not in as_reseller.get(reverse("ui:user_detail", args=[customer.pk])).content.decode()
    assert as_reseller.post(reset_url).status_code == 404
    assert TOTPDevice.objects.filter(user=customer).exists()
    assert reset_url in as_admin.get(reverse("ui:user_detail", args=[customer.pk])).content.decode()

    response = as_admin.post(reset_url, follow=True)

    assert "is reset" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=customer).exists()
    assert reset_url not in response.content.decode()  # nothing left to reset
    entry = LogEntry.objects.filter(object_pk=str(customer.pk)).latest("timestamp")
    assert entry.changes_dict == {"two_factor": ["on", "reset"]}


def test_a_blocked_customer_is_signed_out_at_its_next_request(as_reseller, customer):
    own = Client()
    own.force_login(customer)
    assert own.get(reverse("ui:dashboard")).status_code == 200

    as_reseller.post(reverse("ui:user_block", args=[customer.pk]))

    response = own.get(reverse("ui:dashboard"))
    assert response["Location"].startswith(reverse("ui:login"))
    assert own.get(reverse("ui:token_list"))["Location"].startswith(reverse("ui:login"))
    as_reseller.post(reverse("ui:user_unblock", args=[customer.pk]))
    assert User.objects.get(pk=customer.pk).is_active


def test_a_blocked_reseller_loses_the_users_pages(as_reseller, reseller):
    User.objects.filter(pk=reseller.pk).update(is_active=False)
    assert as_reseller.get(reverse("ui:user_list"))["Location"].startswith(reverse("ui:login"))


def test_changes_on_the_pages_are_audited_under_the_signed_in_user(as_reseller, reseller, customer):
    as_reseller.post(reverse("ui:user_block", args=[customer.pk]))
    as_reseller.post(reverse("ui:user_quota", args=[customer.pk]), {"max_vms": "1"})

    entries = LogEntry.objects.filter(actor=reseller)
    blocked = entries.get(content_type__model="user", object_pk=str(customer.pk))
    assert blocked.changes_dict["is_active"] == ["True", "False"]
    assert entries.filter(content_type__model="quota", action=LogEntry.Action.CREATE).count() == 1


def test_the_users_pages_speak_russian(as_reseller, customer):
    as_reseller.cookies["django_language"] = "ru"
    listed = page(as_reseller, "ui:user_list")
    assert "Пользователи" in listed and "Использование квоты" in listed
    assert "Задать квоту" in page(as_reseller, "ui:user_detail", customer.pk)


def test_malformed_filters_are_left_out_not_a_server_error(as_admin, customer):
    listed = page(as_admin, "ui:user_list", is_active="maybe", role="wizard", q="cust\x00omer", page="x")
    assert "customer-1" in listed
