"""The panel under a path prefix (VMM_URL_PREFIX=/panel) behind a real nginx (Debian's
package) that terminates the websockets, as docs/containers.md configures it: a customer signs
in under /panel/, the pages' styles and scripts load, a VM page's live websocket connects
through nginx and redraws a power change.

The consoles through nginx under the prefix, on a real guest, are in the customer's real-VM
journey (tests/browser/test_real_vm_journey.py)."""

import threading

import pytest
from django.db import connections
from playwright.sync_api import expect

from apps.live.publish import publish_vm
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.browser.conftest import PREFIX, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def publish_in_thread(vm):
    # Playwright's event loop runs in this thread: async_to_sync must run in another one,
    # which closes the database connection that on_commit opened there.
    def publish():
        try:
            publish_vm(vm)
        finally:
            connections.close_all()

    thread = threading.Thread(target=publish)
    thread.start()
    thread.join()


def test_the_panel_under_a_prefix_behind_nginx(proxied, page, customer, test_host, screenshot):
    vm = VirtualMachine.objects.create(
        name="proxied-1", owner=customer, host=test_host, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING
    )
    sockets, failed, responses = [], [], []
    page.on("websocket", lambda ws: sockets.append(ws))
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))
    page.on("response", lambda response: responses.append(response))

    page.goto(f"{proxied}/vms/")  # signed out: sent to the sign-in page under the prefix
    expect(page).to_have_url(f"{proxied}/login/?next={PREFIX}/vms/")
    sign_in(page, proxied, "customer-1", "pw-customer-1")
    page.click("nav >> text=Virtual machines")
    page.click("#vm-table >> text=proxied-1")
    page.wait_for_url(f"{proxied}/vms/{vm.pk}/")
    # Every request the pages made stayed under the prefix and succeeded. A request the
    # browser itself gave up as the test clicked on (a page's favicon, net::ERR_ABORTED; seen
    # in CI) is no failure of the panel's, but it too must have asked under the prefix.
    assert all(url.startswith(proxied + "/") for url, _ in failed), failed
    assert not [(url, why) for url, why in failed if "ERR_ABORTED" not in (why or "")]
    assert all(r.url.startswith(proxied + "/") and r.status < 400 for r in responses), [
        (r.url, r.status) for r in responses if not r.url.startswith(proxied + "/") or r.status >= 400
    ]
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"

    # The live websocket went through nginx under the prefix and is subscribed: a change shows.
    expect(page.locator("[data-vm-field=power_state]")).to_contain_text("Running")
    live = sockets[-1]
    assert live.url == f"{proxied.replace('http', 'ws', 1)}/ws/"
    expect(page.locator("#live-offline")).to_be_hidden()
    page.wait_for_timeout(500)  # let the page's subscribe reach the consumer
    vm.power_state = PowerState.STOPPED
    vm.save(update_fields=["power_state"])
    publish_in_thread(vm)
    expect(page.locator("[data-vm-field=power_state]")).to_contain_text("Stopped")
    assert not live.is_closed()

    screenshot(page, "vm-under-prefix")
