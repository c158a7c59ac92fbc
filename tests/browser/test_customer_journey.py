"""A customer in a real browser: signs in, finds their VMs, orders one and watches its
deploy fail live on libvirt's test driver (steps appear without a reload, the failure
says which step and why), cannot open another customer's VM, and switches the panel to
Russian. The successful journey on a real VM is test_real_vm_journey.py."""

import re

import pytest
from playwright.sync_api import expect

from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def vms(customer, other_customer, test_host):
    mine = VirtualMachine.objects.create(
        name="web-1", owner=customer, host=test_host, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING,
        hostname="web-1.example.com", ip_addresses=["192.0.2.11"],
    )  # fmt: skip
    for name, state, address in (("db-1", PowerState.STOPPED, "192.0.2.12"), ("cache-1", PowerState.PAUSED, "")):
        VirtualMachine.objects.create(
            name=name, owner=customer, host=test_host, status=VmStatus.ACTIVE, power_state=state, vcpus=2,
            memory_mb=4096, disk_gb=40, hostname=f"{name}.example.com", ip_addresses=[address] if address else [],
        )  # fmt: skip
    theirs = VirtualMachine.objects.create(
        name="secret-1", owner=other_customer, host=test_host, status=VmStatus.ACTIVE
    )
    return mine, theirs


@pytest.fixture
def sized_host(test_host):
    test_host.cpus, test_host.memory_mb, test_host.disk_bytes = 8, 16384, 200 * 2**30
    test_host.save()
    return test_host


def test_a_customer_orders_a_vm_and_watches_its_deploy_fail_live(
    panel, page, start_worker, vms, sized_host, ready_image, screenshot
):
    base = panel[0]
    sign_in(page, base, "customer-1", "pw-customer-1")

    page.goto(f"{base}/vms/")
    table = page.locator("#vm-table")
    expect(table).to_contain_text("web-1")
    expect(table).to_contain_text("192.0.2.11")
    expect(table).not_to_contain_text("secret-1")
    screenshot(page, "vm-list-search")
    page.evaluate("window.stillTheListPage = true")
    page.fill("input[type=search]", "db")  # htmx redraws the table alone, and keeps the URL
    expect(table).not_to_contain_text("web-1")
    expect(table).to_contain_text("db-1")
    expect(page).to_have_url(re.compile(r"/vms/\?.*q=db"))
    assert page.evaluate("window.stillTheListPage") is True

    page.click("text=Create VM")
    page.fill("input[name=name]", "shop-1")
    page.click(".preset >> nth=1")
    page.fill("input[name=password]", "Str0ng-enough-pw")
    expect(page.locator("input[name=vcpus]")).to_have_value("2")
    page.click("form.form button[type=submit].btn-primary")

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    job_card = page.locator("[data-live-job]")
    expect(page.locator("[data-job-waiting]")).to_be_visible()  # queued: no worker runs yet
    page.evaluate("window.stillTheSamePage = true")

    start_worker()

    expect(job_card.locator("[data-job-status]")).to_contain_text("Failed", timeout=60000)
    steps = job_card.locator("[data-job-steps] li")
    expect(steps.first).to_contain_text("Choose a host")
    expect(steps).to_have_count(7)  # the whole plan, fetched once the runner planned it
    expect(job_card.locator("[data-job-failed-step]")).to_contain_text("Failed at step")
    expect(job_card.locator("[data-job-error]")).not_to_be_empty()
    assert page.evaluate("window.stillTheSamePage") is True  # every change arrived without a reload
    screenshot(page, "job-view-failed")


def test_a_customer_cannot_open_another_customers_vm(panel, page, vms):
    base = panel[0]
    _, theirs = vms
    sign_in(page, base, "customer-1", "pw-customer-1")

    response = page.goto(f"{base}/vms/{theirs.pk}/")

    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")


def test_a_customer_switches_the_panel_to_russian(panel, page, vms):
    base = panel[0]
    sign_in(page, base, "customer-1", "pw-customer-1")

    page.click(".lang button[value=ru]")

    expect(page.locator("nav.nav")).to_contain_text("Виртуальные машины")
    page.goto(f"{base}/vms/")
    expect(page.locator("#vm-table")).to_contain_text("Работает")
