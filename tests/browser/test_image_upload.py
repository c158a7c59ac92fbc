"""Staff upload an image in a real browser through daphne: the progress-bar script posts the
file, a text file is refused on the file field without leaving the page, and a real qcow2
opens its import job, which a real worker runs to the end (the image is then ready)."""

import re
import subprocess

import pytest
from playwright.sync_api import expect

from apps.images.files import sha256_of
from apps.images.models import Image, ImageStatus
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_staff_upload_an_image_and_follow_its_import(panel, page, admin_user, start_worker, tmp_path, screenshot):
    base, _, data_dir = panel
    notes = tmp_path / "notes.txt"
    notes.write_text("not a disk\n" * 200_000)
    disk = tmp_path / "alpine.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    sign_in(page, base, "root-admin", "pw-admin-1")

    page.goto(f"{base}/images/upload/")
    page.set_input_files("input[name=file]", str(notes))
    page.fill("input[name=name]", "alpine")
    page.click("form[data-upload] button[type=submit]")
    expect(page.locator(".field.has-error .error")).to_contain_text("not a disk image")
    assert page.url == f"{base}/images/upload/"  # the reason is on the form; nothing was registered
    assert not Image.objects.exists()

    page.set_input_files("input[name=file]", str(disk))
    page.click("form[data-upload] button[type=submit]")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    start_worker()
    expect(page.locator("[data-live-job] [data-job-status]")).to_contain_text("Succeeded", timeout=60000)
    expect(page.locator("[data-live-job] [data-job-steps] li.step-succeeded")).to_have_count(3)
    screenshot(page, "image-import-job")

    image = Image.objects.get(name="alpine")
    assert image.status == ImageStatus.READY and image.owner is None
    assert image.path.startswith(str(data_dir)) and sha256_of(image.path) == sha256_of(disk)
    assert not any((data_dir / "images" / ".incoming").iterdir())  # the upload was moved, not left
