"""A reseller, in a real browser, creates a customer on the users pages and sets its quota
(within its own); the customer signs in with the password the reseller gave, orders a VM
within the quota (its deploy job opens; no worker runs it) and a second order beyond the
quota is refused on the form. The reseller then sees the usage against the quota."""

import re

import pytest
from playwright.sync_api import expect

from apps.accounts.models import Role, User
from apps.accounts.quotas import Quota
from apps.vms.models import VirtualMachine
from tests.browser.conftest import order_on_the_form, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "Str0ng-enough-pw"


def sign_out(page):
    page.click("details.usermenu summary")
    page.click("details.usermenu form button[type=submit]")
    page.wait_for_url(re.compile(r"/login/"))


def test_a_reseller_makes_a_customer_whose_second_order_is_beyond_its_quota(
    panel, page, reseller, sized_host, ready_image, screenshot
):
    Quota.objects.create(user=reseller, max_vms=5, max_vcpus=8)
    base = panel[0]
    sign_in(page, base, "reseller-1", "pw-reseller-1")

    page.click("nav.nav a[href='/users/']")
    page.click("text=Create customer")
    page.fill("input[name=username]", "shop-customer")
    page.fill("input[name=email]", "shop@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form button[type=submit].btn-primary")
    expect(page.locator(".flash-success")).to_contain_text("User shop-customer created.")
    customer = User.objects.get(username="shop-customer")
    assert (customer.role, customer.reseller_id) == (Role.CUSTOMER, reseller.pk)

    page.click("text=Set quota")
    page.fill("input[name=max_vms]", "6")  # beyond the reseller's own 5: refused on the field
    page.click("form.form button[type=submit].btn-primary")
    expect(page.locator("[data-error-for=max_vms]")).to_contain_text("At most your own limit of 5 VMs.")
    page.fill("input[name=max_vms]", "1")
    page.fill("input[name=max_vcpus]", "2")
    page.click("form.form button[type=submit].btn-primary")
    expect(page.locator(".flash-success")).to_contain_text("The quota of shop-customer is saved.")
    expect(page.locator("#quota [data-quota=vms]")).to_contain_text("0 / 1")
    screenshot(page, "user-detail-reseller")
    sign_out(page)

    sign_in(page, base, "shop-customer", PASSWORD)
    order_on_the_form(page, base, "first-1")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))  # accepted: its deploy job's page
    order_on_the_form(page, base, "second-1")
    expect(page.locator("[data-error-for=__all__]")).to_contain_text("The order exceeds your quota max_vms")
    expect(page).to_have_url(f"{base}/vms/new/")
    assert list(VirtualMachine.objects.filter(owner=customer).values_list("name", flat=True)) == ["first-1"]
    sign_out(page)

    sign_in(page, base, "reseller-1", "pw-reseller-1")
    page.goto(f"{base}/users/")
    row = page.locator("#user-table tr", has_text="shop-customer")
    expect(row.locator("[data-quota=vms]")).to_contain_text("1 / 1")
    expect(row.locator("[data-quota=vcpus]")).to_contain_text("1 / 2")
    screenshot(page, "users-list-reseller")
