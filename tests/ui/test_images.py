import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.images.files import sha256_of
from apps.images.models import Image, Visibility
from apps.images.services import incoming_dir
from apps.jobs.models import Job


@pytest.fixture
def private_image(other_customer):
    return Image.objects.create(
        name="their-image", owner=other_customer, visibility=Visibility.PRIVATE, status="ready",
        virtual_size_bytes=2**30, checksum_sha256="1" * 64,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def image_store(settings, tmp_path):
    settings.VMM_IMAGE_DIR = tmp_path / "store"


def image_form(**extra):
    return {"name": "alpine", "os_family": "linux", "os_version": "3.20", "guest_config": "customize", **extra}


def test_a_customer_lists_the_images_they_may_use_and_no_others(as_customer, ready_image, private_image):
    page = as_customer.get(reverse("ui:image_list")).content.decode()
    assert "debian-12" in page and "Public" in page
    assert "their-image" not in page
    assert as_customer.get(reverse("ui:image_detail", args=[private_image.pk])).status_code == 404


def test_customers_cannot_import_or_upload(as_customer):
    assert as_customer.get(reverse("ui:image_import")).status_code == 404
    assert as_customer.get(reverse("ui:image_upload")).status_code == 404


def test_staff_import_a_file_from_the_panel_machine_as_a_job(as_admin, qcow2_file, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = as_admin.post(reverse("ui:image_import"), image_form(path=str(qcow2_file), visibility="public"))

    image = Image.objects.get(name="alpine")
    job = Job.objects.get(kind="image_import")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])  # the request copied nothing
    assert image.status == "pending" and image.path == "" and image.owner is None
    page = as_admin.get(reverse("ui:image_detail", args=[image.pk])).content.decode()
    assert reverse("ui:job_detail", args=[job.pk]) in page  # the image's page links to its import

    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()  # the worker runs the job
    image.refresh_from_db()
    assert image.status == "ready" and image.virtual_size_bytes == 64 * 2**20


def test_a_text_file_is_refused_on_the_path_field(as_admin, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a disk\n" * 200_000)
    response = as_admin.post(reverse("ui:image_import"), image_form(path=str(notes), visibility="public"))
    assert "not a disk image" in response.context["form"].errors["path"][0]
    assert not Image.objects.exists()


def test_an_import_of_a_missing_file_says_so_on_the_path_field(as_admin, tmp_path):
    response = as_admin.post(
        reverse("ui:image_import"), image_form(path=str(tmp_path / "nope.qcow2"), visibility="public")
    )
    assert response.status_code == 200
    assert "No such file" in response.context["form"].errors["path"][0]


def test_an_upload_answers_the_progress_bar_script_with_its_import_job(
    as_admin, qcow2_file, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("alpine.qcow2", qcow2_file.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin.post(
            reverse("ui:image_upload"), image_form(file=upload, visibility="public"), HTTP_ACCEPT="application/json"
        )
    job = Job.objects.get(kind="image_import")
    assert response.json() == {"url": reverse("ui:job_detail", args=[job.pk])}
    image = Image.objects.get(name="alpine")
    assert image.status == "ready" and sha256_of(image.path) == sha256_of(qcow2_file)
    assert not any(incoming_dir().iterdir())  # the upload was moved into the store


def test_an_upload_the_image_service_refuses_gets_its_reason_on_the_file_field(as_admin, qcow2_file, tmp_path):
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(qcow2_file), str(overlay)], check=True
    )
    upload = SimpleUploadedFile("overlay.qcow2", overlay.read_bytes())
    response = as_admin.post(
        reverse("ui:image_upload"), image_form(file=upload, visibility="public"), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "backing file" in response.json()["errors"]["file"][0]["message"]
    assert not Image.objects.filter(name="alpine").exists()


def test_a_reseller_uploads_a_private_image_of_its_own(client, reseller, qcow2_file):
    client.force_login(reseller)
    upload = SimpleUploadedFile("alpine.qcow2", qcow2_file.read_bytes())
    response = client.post(reverse("ui:image_upload"), image_form(file=upload, visibility="private"))
    image = Image.objects.get(name="alpine")
    job = Job.objects.get(kind="image_import")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    assert client.get(response["Location"]).status_code == 200  # the reseller may follow its import
    assert image.owner == reseller and image.visibility == "private"


def test_a_reseller_cannot_make_an_image_public(client, reseller, qcow2_file):
    client.force_login(reseller)
    upload = SimpleUploadedFile("alpine.qcow2", qcow2_file.read_bytes())
    response = client.post(reverse("ui:image_upload"), image_form(file=upload, visibility="public"))
    assert "visibility" in response.context["form"].errors


def test_the_owner_shares_an_image_with_a_user_it_can_see(client, reseller, customer):
    image = Image.objects.create(
        name="golden", owner=reseller, status="ready", virtual_size_bytes=2**30, checksum_sha256="2" * 64
    )
    client.force_login(reseller)

    client.post(reverse("ui:image_detail", args=[image.pk]), {"visibility": "shared", "shared_with": [customer.pk]})

    image.refresh_from_db()
    assert image.visibility == "shared" and list(image.shared_with.all()) == [customer]


def test_someone_who_does_not_own_an_image_sees_it_without_the_share_form(as_customer, ready_image):
    response = as_customer.post(reverse("ui:image_detail", args=[ready_image.pk]), {"visibility": "private"})
    assert response.context["form"] is None
    ready_image.refresh_from_db()
    assert ready_image.visibility == "public"


def test_the_owner_deletes_an_image_by_typing_its_name(client, reseller, customer, django_capture_on_commit_callbacks):
    image = Image.objects.create(
        name="golden", owner=reseller, status="ready", virtual_size_bytes=2**30, checksum_sha256="3" * 64
    )
    client.force_login(reseller)
    assert (
        reverse("ui:image_delete", args=[image.pk])
        in client.get(reverse("ui:image_detail", args=[image.pk])).content.decode()
    )

    wrong = client.post(reverse("ui:image_delete", args=[image.pk]), {"name": "gold"})
    assert "not the image's name" in wrong.context["form"].errors["name"][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ui:image_delete", args=[image.pk]), {"name": "golden"})

    job = Job.objects.get(kind="image_delete")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    assert job.owner == reseller and not Image.objects.filter(pk=image.pk).exists()


def test_an_image_in_use_is_not_deleted_and_the_form_says_why(as_admin, ready_image, my_vm):
    response = as_admin.post(reverse("ui:image_delete", args=[ready_image.pk]), {"name": ready_image.name})
    assert "1 VM was made from this image" in response.context["form"].non_field_errors()[0]
    assert Image.objects.filter(pk=ready_image.pk).exists() and not Job.objects.exists()


def test_only_the_owner_or_staff_may_delete_an_image(as_customer, ready_image, private_image):
    assert as_customer.get(reverse("ui:image_delete", args=[ready_image.pk])).status_code == 404  # public, not theirs
    assert as_customer.get(reverse("ui:image_delete", args=[private_image.pk])).status_code == 404  # not visible
    page = as_customer.get(reverse("ui:image_detail", args=[ready_image.pk])).content.decode()
    assert reverse("ui:image_delete", args=[ready_image.pk]) not in page
