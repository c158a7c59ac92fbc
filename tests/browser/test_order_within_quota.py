"""A customer whose quota is one VM orders one in a real browser, then tries a second: the
order form says the quota allows no more, marks the sizes beyond it, and refuses the
second order on the form (the defect of issue 11: the web UI used to deploy both)."""

import re

import pytest
from playwright.sync_api import expect

from apps.accounts.quotas import Quota
from apps.vms.models import VirtualMachine
from tests.browser.conftest import order_on_the_form, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_second_order_beyond_a_one_vm_quota_is_refused_on_the_form(
    panel, page, customer, sized_host, ready_image, screenshot
):
    Quota.objects.create(user=customer, max_vms=1, max_vcpus=2)
    base = panel[0]
    sign_in(page, base, "customer-1", "pw-customer-1")

    page.goto(f"{base}/vms/new/")
    expect(page.locator("#quota-left")).to_contain_text("1 VM")
    expect(page.locator(".preset").nth(0)).to_be_enabled()  # 1 vCPU fits
    expect(page.locator(".preset").nth(2)).to_be_disabled()  # 4 vCPUs do not
    expect(page.locator(".preset").nth(2)).to_contain_text("Beyond your quota")

    order_on_the_form(page, base, "first-1")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))  # accepted: its deploy job's page

    order_on_the_form(page, base, "second-1")
    expect(page.locator("#quota-left")).to_contain_text("Your quota allows no more VMs.")
    expect(page.locator("[data-error-for=__all__]")).to_contain_text("The order exceeds your quota max_vms")
    screenshot(page, "order-beyond-quota")
    expect(page).to_have_url(f"{base}/vms/new/")
    assert list(VirtualMachine.objects.filter(owner=customer).values_list("name", flat=True)) == ["first-1"]
