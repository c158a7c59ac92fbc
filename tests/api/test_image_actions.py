"""Image actions through the API, the same as the web UI's (apps.images): import a file on
the panel machine (staff), upload one (staff, resellers), delete through the image_delete
job (the owner or staff; refused while VMs use the image)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.images.models import Image, ImageStatus
from apps.images.services import incoming_dir
from apps.jobs.models import Job
from tests.api.conftest import codes, make_vm


@pytest.fixture(autouse=True)
def image_store(settings, tmp_path):
    settings.VMM_IMAGE_DIR = tmp_path / "store"


def fields(**extra):
    return {"name": "alpine", "os_family": "linux", "os_version": "3.20", **extra}


def test_staff_import_a_file_on_the_panel_machine_as_a_job(api, admin_user, qcow2_file):
    response = api(admin_user).post("/api/v1/images/", fields(path=str(qcow2_file)), format="json")

    assert response.status_code == 202, response.content
    image, job = Image.objects.get(name="alpine"), Job.objects.get(kind="image_import")
    assert response.json()["image"]["id"] == image.pk and response.json()["job"]["id"] == str(job.pk)
    assert response["Location"].endswith(f"/api/v1/jobs/{job.pk}/")
    assert (image.status, image.owner, image.visibility) == (ImageStatus.PENDING, None, "public")


def test_an_import_names_what_is_wrong_with_the_path(api, admin_user, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a disk\n" * 200_000)
    response = api(admin_user).post("/api/v1/images/", fields(path=str(notes)), format="json")
    assert response.status_code == 400 and codes(response) == [("path", "invalid")]
    assert "not a disk image" in response.json()["errors"][0]["message"]
    assert not Image.objects.exists()


def test_only_staff_import_files_of_the_panel_machine(api, reseller, qcow2_file):
    response = api(reseller).post("/api/v1/images/", fields(path=str(qcow2_file)), format="json")
    assert response.status_code == 403
    assert "Only the provider's staff" in response.json()["errors"][0]["message"]


def test_a_reseller_uploads_a_private_image_of_its_own(api, reseller, qcow2_file):
    upload = SimpleUploadedFile("alpine.qcow2", qcow2_file.read_bytes())
    response = api(reseller).post("/api/v1/images/upload/", fields(file=upload), format="multipart")

    assert response.status_code == 202, response.content
    image, job = Image.objects.get(name="alpine"), Job.objects.get(kind="image_import")
    assert (image.owner, image.visibility, job.params["move"]) == (reseller, "private", True)
    assert job.params["source"].startswith(str(incoming_dir()))  # streamed there, taken over by the job


def test_an_upload_made_public_by_a_reseller_is_refused_on_visibility(api, reseller, qcow2_file):
    upload = SimpleUploadedFile("alpine.qcow2", qcow2_file.read_bytes())
    body = fields(file=upload, visibility="public")
    response = api(reseller).post("/api/v1/images/upload/", body, format="multipart")
    assert codes(response) == [("visibility", "forbidden")]


def test_customers_may_not_upload(api, customer, qcow2_file):
    upload = SimpleUploadedFile("alpine.qcow2", qcow2_file.read_bytes())
    response = api(customer).post("/api/v1/images/upload/", fields(file=upload), format="multipart")
    assert response.status_code == 403 and not Image.objects.exists()


def test_the_owner_deletes_an_image_through_the_image_delete_job(api, reseller):
    golden = Image.objects.create(
        name="golden", owner=reseller, status="ready", virtual_size_bytes=2**30, checksum_sha256="3" * 64
    )
    response = api(reseller).delete(f"/api/v1/images/{golden.pk}/")
    assert response.status_code == 202
    job = Job.objects.get(kind="image_delete")
    assert response.json()["job"]["id"] == str(job.pk) and job.target == golden


def test_an_image_vms_were_made_from_is_not_deleted_and_the_answer_says_why(api, admin_user, customer, host):
    image = Image.objects.create(name="used", status="ready", virtual_size_bytes=2**30, checksum_sha256="4" * 64)
    make_vm(customer, host, image=image)
    response = api(admin_user).delete(f"/api/v1/images/{image.pk}/")
    assert response.status_code == 400 and codes(response) == [("image", "invalid")]
    assert "1 VM was made from this image" in response.json()["errors"][0]["message"]
    assert not Job.objects.exists()
