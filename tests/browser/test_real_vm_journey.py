"""A customer in a real browser orders a real VM on this machine's libvirtd (a TCG guest
from the demo image `make images` builds), watches its deploy step by step without a
reload, sees the VM's badge turn running live, shuts it down and sees it stopped live,
starts it again, sees a `virsh destroy` made behind the panel's back reach the open page
(through the host watcher), then deletes it: nothing of it is left on the host.

Markers `libvirt` and `browser`: it boots a guest (about 80-120 s under TCG)."""

import re
import time

import pytest
from playwright.sync_api import expect

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import NotFound
from apps.vms.models import VirtualMachine
from tests.browser.conftest import sign_in
from tests.deploy.conftest import _deleted_uuids

pytestmark = [pytest.mark.browser, pytest.mark.libvirt, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEPLOY_SECONDS = 300  # ~80 s alone under TCG; the CI machine is shared with other tests
POWER_SECONDS = 120


def wait_for_log(process, text, seconds):
    """Wait until `process` has logged `text` (it is then ready), or fail with its log."""
    deadline = time.monotonic() + seconds
    while text not in process.output():
        assert process.proc.poll() is None, f"exited:\n{process.output()}"
        assert time.monotonic() < deadline, f"no {text!r} within {seconds} s:\n{process.output()}"
        time.sleep(0.2)


def test_a_customer_deploys_a_real_vm_watches_it_live_stops_and_deletes_it(
    panel, customer, local_host, plain_image, browser, page, start_worker, start_watcher, screenshot
):
    base = panel[0]
    sign_in(page, base, "customer-1", "pw-customer-1")
    screenshot(page, "dashboard-customer")

    page.click("a.btn-primary:has-text('Create VM')")  # from the dashboard
    page.fill("input[name=name]", "web-1")
    page.select_option("select[name=image]", label="debian-12-plain")
    page.click(".preset >> nth=0")
    page.fill("input[name=disk_gb]", "4")
    page.fill("input[name=password]", "Str0ng-enough-pw")
    screenshot(page, "create-form")
    page.click("form.form button[type=submit].btn-primary")

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    vm = VirtualMachine.objects.get(owner=customer, name="web-1")
    _deleted_uuids.add(str(vm.uuid))  # the host leftovers check still knows its domain once the row is gone
    job_card = page.locator("[data-live-job]")
    steps = job_card.locator("[data-job-steps] li")
    expect(page.locator("[data-job-waiting]")).to_be_visible()  # queued: no worker runs yet
    page.evaluate("window.stillTheSamePage = true")

    # The VM's own page, open during the deploy, must follow it live too.
    vm_page = page.context.new_page()
    vm_page.set_default_timeout(10000)
    vm_page.goto(f"{base}/vms/{vm.pk}/")
    power = vm_page.locator("[data-vm-field=power_state]")
    expect(power).not_to_contain_text("Running")
    vm_page.evaluate("window.stillTheSamePage = true")

    start_worker()

    expect(steps).to_have_count(7)  # the whole plan, fetched once the runner planned it
    expect(steps.first).to_contain_text("Choose a host")
    expect(job_card.locator("li.step-running")).to_have_count(1, timeout=60000)  # a step seen while it runs
    expect(job_card.locator("[data-job-status]")).to_contain_text("Succeeded", timeout=DEPLOY_SECONDS * 1000)
    expect(job_card.locator("li.step-succeeded")).to_have_count(7)
    expect(job_card.locator("[data-job-progress-text]")).to_have_text("100%")
    assert page.evaluate("window.stillTheSamePage") is True  # every step arrived without a reload
    screenshot(page, "job-view")

    expect(power).to_contain_text("Running", timeout=30000)
    expect(vm_page.locator("[data-vm-field=ip_addresses]")).to_contain_text("192.168.122.")
    assert vm_page.evaluate("window.stillTheSamePage") is True
    screenshot(vm_page, "vm-running")
    vm_page.close()

    page.goto(f"{base}/vms/")
    expect(page.locator("#vm-table")).to_contain_text("web-1")
    expect(page.locator("#vm-table")).to_contain_text("Running")
    screenshot(page, "vm-list")

    page.click("#vm-table >> text=web-1")
    page.click("form[action$='/power/stop/'] button")
    page.wait_for_url(f"{base}/vms/{vm.pk}/")  # the shutdown is queued; the page follows it live
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("[data-vm-field=power_state]")).to_contain_text("Stopped", timeout=POWER_SECONDS * 1000)
    expect(page.locator("form[action$='/power/start/']")).to_be_visible()  # the buttons follow the state
    latest_job = page.locator("[data-vm-jobs] tbody tr").first
    expect(latest_job).to_contain_text("Shut down")
    expect(latest_job).to_contain_text("Succeeded")  # the job history follows too
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "vm-stopped")

    # Behind the panel's back: the host watcher hears libvirt's event and the open page follows.
    page.click("form[action$='/power/start/'] button")
    page.wait_for_url(f"{base}/vms/{vm.pk}/")
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("[data-vm-field=power_state]")).to_contain_text("Running", timeout=POWER_SECONDS * 1000)
    expect(page.locator("[data-vm-field=current_job]")).to_be_hidden()  # the start job has ended
    watcher = start_watcher()
    wait_for_log(watcher, f"host {local_host.name}: watching", POWER_SECONDS)
    hypervisor_for(local_host).destroy(vm.domain_name)
    expect(page.locator("[data-vm-field=power_state]")).to_contain_text("Stopped", timeout=30000)
    assert page.evaluate("window.stillTheSamePage") is True

    page.click("details.more summary")
    page.click("a.danger")
    page.fill("input[name=name]", "web-1")  # deleting asks for the VM's name
    page.click("form.form button[type=submit].btn-danger")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("[data-live-job] [data-job-status]")).to_contain_text("Succeeded", timeout=60000)

    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    driver = hypervisor_for(local_host)
    with pytest.raises(NotFound):
        driver.get_domain(vm.domain_name)
    assert not [v.name for v in driver.list_volumes(local_host.storage_pool) if v.name.startswith("vmm-")]
