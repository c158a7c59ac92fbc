"""Staff in a real browser: the dashboard with hosts' room, and VM badges that change live."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from apps.live.publish import publish_vm
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.browser.conftest import sign_in


def in_another_thread(function, *args):
    def run():
        try:
            function(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fleet(customer, other_customer, test_host, ready_image):
    test_host.cpus, test_host.memory_mb, test_host.disk_bytes = 16, 65536, 1000 * 2**30
    test_host.save()
    states = [PowerState.RUNNING, PowerState.RUNNING, PowerState.STOPPED, PowerState.PAUSED]
    return [
        VirtualMachine.objects.create(
            name=f"app-{i}",
            owner=owner,
            host=test_host,
            image=ready_image,
            status=VmStatus.ACTIVE,
            power_state=states[i % 4],
            vcpus=2,
            memory_mb=4096,
            disk_gb=40,
            ip_addresses=[f"192.0.2.{20 + i}"],
        )  # fmt: skip
        for i, owner in enumerate([customer, other_customer] * 3)
    ]


def test_staff_see_hosts_room_and_vm_states_on_the_dashboard(panel, page, admin_user, fleet, screenshot):
    base = panel[0]
    sign_in(page, base, "root-admin", "pw-admin-1")

    expect(page.locator(".host-tile")).to_contain_text("test-host")
    expect(page.locator(".stat").first).to_contain_text("6")
    screenshot(page, "dashboard")


def test_a_power_state_change_redraws_the_badge_without_a_reload(panel, page, admin_user, fleet):
    base = panel[0]
    vm = fleet[2]  # stopped
    sign_in(page, base, "root-admin", "pw-admin-1")
    page.goto(f"{base}/vms/{vm.pk}/")
    badge = page.locator(".vm-state [data-vm-field=power_state]")
    expect(badge).to_have_text("Stopped")
    expect(page.locator("form[action$='/power/start/']")).to_be_visible()
    page.wait_for_function("document.querySelector('[data-vm]') && window.vmmLive")
    page.wait_for_timeout(500)  # the socket subscribes after load

    VirtualMachine.objects.filter(pk=vm.pk).update(power_state=PowerState.RUNNING)
    vm.refresh_from_db()
    in_another_thread(publish_vm, vm)  # as a worker would: this thread runs Playwright's loop

    expect(badge).to_have_text("Running")
    expect(page.locator("form[action$='/power/stop/']")).to_be_visible()
    expect(page.locator("form[action$='/power/start/']")).to_be_hidden()
