"""Sign-in security in a real browser: the Content-Security-Policy is enforced and no page
breaks it (every violation is caught: the securitypolicyviolation event and chromium's
"Refused to …" console lines), and a staff user enrols TOTP from the QR code — decoded
from a screenshot as a phone would — then signs in with codes computed from its secret,
while a wrong code and a reused code are refused."""

import base64
import io
import time
from urllib.parse import parse_qs, urlparse

import pytest
import zxingcpp
from django_otp.oath import TOTP
from PIL import Image
from playwright.sync_api import expect

from apps.jobs.models import Job
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, recording every policy violation it meets (events and console lines)."""
    refused = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)

    def violations():
        return refused + page.evaluate("window.__csp || []")

    page.violations = violations
    return page


def test_no_page_breaks_the_content_security_policy(panel, watched, admin_user, test_host, ready_image):
    base = panel[0]
    page = watched
    test_host.cpus, test_host.memory_mb, test_host.disk_bytes = 8, 16384, 200 * 2**30
    test_host.save()
    vm = VirtualMachine.objects.create(
        name="csp-1", owner=admin_user, host=test_host, image=ready_image, status=VmStatus.ACTIVE,
        power_state=PowerState.RUNNING, vcpus=2, memory_mb=4096, disk_gb=40,
    )  # fmt: skip
    job = Job.objects.create(kind="vm_start", target=vm, target_repr="csp-1", owner=admin_user, request_id="r-csp")

    response = page.goto(f"{base}/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    sign_in(page, base, "root-admin", "pw-admin-1")
    page.wait_for_function("window.vmmLive")  # the live socket is allowed (connect-src)
    expect(page.locator(".split-bar > span").first).to_have_css("flex-grow", "1")  # shares set from bars.js

    paths = [
        "/vms/", f"/vms/{vm.pk}/", "/hosts/", f"/hosts/{test_host.pk}/", "/images/", "/jobs/", f"/jobs/{job.pk}/",
        "/two-factor/", "/password/", "/admin/", "/admin/accounts/user/",
        f"/admin/accounts/user/{admin_user.pk}/change/", "/api/docs/",
    ]  # fmt: skip
    for path in paths:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        assert page.violations() == [], path
    page.goto(f"{base}/hosts/{test_host.pk}/")
    assert page.locator(".usage .bar > span").first.evaluate("el => el.style.width") != ""


def otpauth_from_qr(page):
    """The otpauth:// URI in the enrolment QR code, read from a screenshot of it."""
    png = page.locator("svg.qr").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert [barcode.format.name for barcode in found] == ["QRCode"]
    return found[0].text


def code(secret, at):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key)
    totp.time = at
    return str(totp.token()).zfill(6)


def sign_in_with_code(page, base, token):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "root-admin")
    page.fill("input[name=password]", "pw-admin-1")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base}/login/code/")
    page.fill("input[name=token]", token)
    page.click("form.form button[type=submit]")


def sign_out(page):
    page.click(".usermenu summary")
    page.click(".usermenu form button[type=submit]")
    page.wait_for_url("**/login/")


def test_staff_enrol_totp_from_the_qr_code_and_sign_in_with_codes(panel, watched, admin_user, screenshot):
    base = panel[0]
    page = watched
    sign_in(page, base, "root-admin", "pw-admin-1")
    page.click(".usermenu summary")
    page.click("text=Two-factor sign-in")
    page.wait_for_url(f"{base}/two-factor/")

    uri = urlparse(otpauth_from_qr(page))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    secret = parse_qs(uri.query)["secret"][0]
    assert secret == page.locator("[data-totp-secret]").inner_text()
    screenshot(page, "two-factor-enrol")

    # Enrol early in a 30 s time step, so that the panel checks the code in the step it was
    # made in: across a step boundary django-otp would learn a drift of one step.
    left = 30 - time.time() % 30
    if left < 12:
        time.sleep(left + 0.5)
    enrolled_at = time.time()
    page.fill("input[name=token]", code(secret, enrolled_at))
    page.click("button[value=enrol]")
    expect(page.locator("[data-backup-codes] code")).to_have_count(10)
    expect(page.locator("[data-two-factor-state=on]")).to_be_visible()
    sign_out(page)

    # The code of the step after the enrolment's (which used its own step's code): the panel
    # accepts one step of clock drift (a phone a little ahead), also if the sign-in came later.
    next_code = code(secret, enrolled_at + 30)
    sign_in_with_code(page, base, next_code)
    page.wait_for_url(f"{base}/")
    sign_out(page)

    sign_in_with_code(page, base, next_code)  # the same code again
    expect(page.locator("[data-error-for=token]")).to_contain_text("used already")
    assert page.url == f"{base}/login/code/"

    wrong = "000000" if next_code != "000000" else "111111"
    page.fill("input[name=token]", wrong)
    page.click("form.form button[type=submit]")
    expect(page.locator("[data-error-for=token]")).to_contain_text("not right")
    assert page.violations() == []
