# ruff: noqa: F811 - the browser fixtures are imported from tests/browser and used as arguments
"""The graphs in a real browser: uPlot draws the four charts from the API's series, the
range buttons refetch, and a VM with no statistics yet says so."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.stats.models import Tier, VmSample
from tests.api.conftest import make_vm
from tests.browser.conftest import browser, page, panel, screenshot, sign_in  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_customer_sees_graphs_of_their_vm_and_a_message_where_there_is_no_data(
    panel,
    page,
    customer,
    test_host,
    screenshot,  # noqa: F811
):
    base = panel[0]
    busy = make_vm(customer, test_host, name="graphs-busy")
    quiet = make_vm(customer, test_host, name="graphs-quiet")
    now = timezone.now()
    VmSample.objects.bulk_create(
        VmSample(
            tier=Tier.RAW,
            at=now - timedelta(seconds=10 * i),
            vm_id=busy.pk,
            host_id=test_host.pk,
            cpu_pct=20.0 + i % 7,
            memory_used_bytes=2**29,
            memory_total_bytes=2**30,
            disk_read_bps=4096.0 * i,
            disk_write_bps=1024.0,
            disk_read_iops=3.0,
            disk_write_iops=1.0,
            net_rx_bps=1500.0,
            net_tx_bps=300.0,
            net_rx_pps=10.0,
            net_tx_pps=3.0,
        )  # fmt: skip
        for i in range(60)
    )
    sign_in(page, base, "customer-1", "pw-customer-1")

    page.goto(f"{base}/vms/{busy.pk}/")
    card = page.locator(".stats-card")
    expect(card.locator(".uplot")).to_have_count(4)
    expect(card.locator("[data-stats-message]")).to_be_hidden()
    expect(card.locator(".u-legend").first).to_contain_text("CPU")
    screenshot(page, "stats-vm-graphs")

    with page.expect_response(lambda r: "/stats/?range=24h" in r.url and r.status == 200):
        card.locator('[data-range="24h"]').click()
    expect(card.locator('[data-range="24h"]')).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".uplot")).to_have_count(4)  # the raw tail continues the (empty) minute tier

    page.goto(f"{base}/vms/{quiet.pk}/")
    expect(page.locator(".stats-card [data-stats-message]")).to_contain_text("No statistics for this period yet")
    expect(page.locator(".stats-card .uplot")).to_have_count(0)
