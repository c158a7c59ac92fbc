"""The web consoles on a real guest: a customer's VM deployed by the panel (a TCG guest of the
plain demo image), its serial console in chromium (xterm.js through daphne, the consumer and
the console bridge to libvirt's console stream): Enter brings the login prompt, the ordered
password gives a root shell that runs a command. The graphical console (noVNC through the
same path to the guest's VNC display) connects and shows the guest: its canvas is not blank.
A console open while the VM is deleted closes saying so. Every session is in the audit record.

One guest for the whole module (one test: the database is flushed between tests)."""

import time

import pytest
from playwright.sync_api import expect

from apps.jobs.models import Job
from apps.vms.create import create_vm
from apps.vms.models import ConsoleSession, VirtualMachine, VmStatus
from tests.browser.conftest import sign_in
from tests.deploy.conftest import _deleted_uuids

pytestmark = [pytest.mark.browser, pytest.mark.libvirt, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "Str0ng-console-pw"
DEPLOY_SECONDS = 420  # ~80 s alone under TCG; the CI machine is shared with other tests
PROMPT_SECONDS = 240  # the guest may still be booting when the deploy reports its address


def wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(1)
    return value


def terminal_text(page):
    return page.locator(".xterm-rows").inner_text()


def type_line(page, text):
    page.locator(".xterm-helper-textarea").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


@pytest.fixture
def patient_boot(monkeypatch):
    """The worker (started after this) waits longer for the guest: the machine is shared."""
    monkeypatch.setenv("VMM_BOOT_TIMEOUT", "400")


def test_serial_and_graphical_consoles_of_a_real_vm(
    patient_boot,
    console_bridge_address,
    panel,
    start_console_bridge,
    start_worker,
    customer,
    local_host,
    plain_image,
    page,
    screenshot,
):
    base = panel[0]
    start_console_bridge()
    start_worker()
    vm, job = create_vm(
        customer, name="console-1", image=plain_image, vcpus=1, memory_mb=512, disk_gb=4, password=PASSWORD,
        actor=customer,
    )  # fmt: skip
    _deleted_uuids.add(str(vm.uuid))
    wait_for(lambda: Job.objects.get(pk=job.pk).status in ("succeeded", "failed"), DEPLOY_SECONDS, "deploy")
    assert Job.objects.get(pk=job.pk).status == "succeeded", Job.objects.get(pk=job.pk).error

    sign_in(page, base, "customer-1", "pw-customer-1")
    page.goto(f"{base}/vms/{vm.pk}/")
    page.click("[data-console-link]")
    expect(page.locator("[data-console-status]")).to_have_text("Connected.", timeout=20000)

    # Enter makes getty print its prompt again (the guest may still be booting: keep asking).
    deadline = time.monotonic() + PROMPT_SECONDS
    while "login:" not in terminal_text(page):
        assert time.monotonic() < deadline, f"no login prompt:\n{terminal_text(page)}"
        type_line(page, "")
        page.wait_for_timeout(3000)
    type_line(page, "root")
    expect(page.locator(".xterm-rows")).to_contain_text("Password:", timeout=30000)
    type_line(page, PASSWORD)
    expect(page.locator(".xterm-rows")).to_contain_text("root@console-1:~#", timeout=60000)  # login drops typeahead
    type_line(page, "echo console-$((6 * 7)) in $(hostname)")
    expect(page.locator(".xterm-rows")).to_contain_text("console-42 in", timeout=60000)  # a shell answered
    screenshot(page, "console-serial")

    page.goto(f"{base}/vms/{vm.pk}/console/?kind=vnc")
    page.wait_for_function("() => window.vmmVncConnected === true", timeout=30000)
    # The guest's VGA text console (tty1) is drawn: the canvas has lit pixels, not one colour.
    lit = page.wait_for_function(
        """() => {
            const canvas = document.querySelector("[data-console-screen] canvas");
            if (!canvas || !canvas.width || canvas.getBoundingClientRect().height < 200) return 0; // drawn, and shown
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let lit = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 150) lit++;
            return lit > 500 ? lit : 0;
        }""",
        timeout=60000,
    ).json_value()
    assert lit > 500
    screenshot(page, "console-vnc")

    # Back to the serial console, then the VM is deleted under it.
    page.goto(f"{base}/vms/{vm.pk}/console/")
    expect(page.locator("[data-console-status]")).to_have_text("Connected.", timeout=20000)
    other = page.context.new_page()  # the customer deletes it from another tab
    other.goto(f"{base}/vms/{vm.pk}/delete/")
    other.fill("input[name=name]", "console-1")
    other.click("form.form button[type=submit]")
    expect(page.locator("[data-console-status]")).to_have_text("The VM was deleted.", timeout=120000)
    wait_for(lambda: not VirtualMachine.objects.filter(pk=vm.pk).exists(), 120, "the VM row gone")

    sessions = list(ConsoleSession.objects.filter(user=customer).order_by("created_at"))
    assert {s.kind for s in sessions if s.opened_at} == {"serial", "vnc"}
    assert all(s.closed_at and s.socket_address == "127.0.0.1" for s in sessions if s.opened_at)
    assert sessions[-1].close_reason == "The VM was deleted." and sessions[-1].vm_name == "console-1"
    assert not VirtualMachine.objects.filter(status=VmStatus.DELETING).exists()
