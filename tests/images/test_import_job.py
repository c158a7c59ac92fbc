"""Importing an image from a web request: the request only checks the file and registers
the image as pending; the image_import job copies it (or moves an upload) into the store
and marks it ready, step by step; a failed import leaves no image and no file behind."""

import pytest
from django.core.exceptions import ValidationError

from apps.images.files import sha256_of
from apps.images.models import Image, ImageStatus
from apps.images.services import incoming_dir, start_image_import
from apps.jobs.models import JobStatus, StepStatus
from apps.jobs.runner import enqueue


@pytest.fixture
def image_store(tmp_path, settings):
    settings.VMM_IMAGE_DIR = tmp_path / "store"
    return settings.VMM_IMAGE_DIR


def start(capture, source, execute, **kwargs):
    with capture(execute=execute):
        return start_image_import(source, name="debian-12", os_family="debian", **kwargs)


def files_in(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_the_request_registers_a_pending_image_and_copies_nothing(
    db, qcow2_file, image_store, django_capture_on_commit_callbacks
):
    image, job = start(django_capture_on_commit_callbacks, qcow2_file, execute=False)

    assert image.status == ImageStatus.PENDING and image.path == ""
    assert (job.kind, job.status, job.target) == ("image_import", JobStatus.QUEUED, image)
    assert files_in(image_store) == []


def test_the_job_copies_the_file_with_its_checksum_and_marks_the_image_ready(
    db, admin_user, qcow2_file, image_store, django_capture_on_commit_callbacks
):
    image, job = start(django_capture_on_commit_callbacks, qcow2_file, execute=True, actor=admin_user)

    job.refresh_from_db()
    image.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [(s.name, s.status) for s in job.steps.all()] == [
        ("Check the image file", StepStatus.SUCCEEDED),
        ("Copy into the image store", StepStatus.SUCCEEDED),
        ("Register the image", StepStatus.SUCCEEDED),
    ]
    assert image.status == ImageStatus.READY and image.checksum_sha256 == sha256_of(qcow2_file)
    assert sha256_of(image.path) == image.checksum_sha256 and str(image_store) in image.path
    assert qcow2_file.exists()  # a file on the panel machine is copied, not taken


def test_an_upload_is_taken_over_by_the_job_and_moved_into_the_store(
    db, reseller, qcow2_file, image_store, django_capture_on_commit_callbacks
):
    incoming_dir().mkdir(parents=True)
    upload = incoming_dir() / "tmpabc.part"
    upload.write_bytes(qcow2_file.read_bytes())

    image, job = start(django_capture_on_commit_callbacks, upload, execute=True, owner=reseller, uploaded=True)

    image.refresh_from_db()
    assert image.status == ImageStatus.READY and image.owner == reseller
    assert job.owner == reseller  # the reseller may follow its own import
    assert files_in(incoming_dir()) == []  # moved, not copied
    assert sha256_of(image.path) == sha256_of(qcow2_file)


def test_a_file_that_changed_before_the_job_ran_fails_the_job_and_nothing_is_left(
    db, qcow2_file, image_store, django_capture_on_commit_callbacks
):
    image, job = start(django_capture_on_commit_callbacks, qcow2_file, execute=False)
    qcow2_file.write_text("overwritten by someone\n" * 100_000)  # no longer an image

    with django_capture_on_commit_callbacks(execute=True):
        enqueue(job)  # the worker picks it up now

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "not a disk image" in job.error
    assert job.steps.get(status=StepStatus.FAILED).name == "Check the image file"
    assert not Image.objects.filter(pk=image.pk).exists()  # the name is free for a new try
    assert files_in(image_store) == []


def test_a_refused_upload_is_deleted_and_no_image_is_registered(db, tmp_path, image_store):
    incoming_dir().mkdir(parents=True)
    upload = incoming_dir() / "tmpdef.part"
    upload.write_text("hello\n" * 300_000)

    with pytest.raises(ValidationError) as error:
        start_image_import(upload, name="notes", os_family="debian", uploaded=True)

    assert "not a disk image" in error.value.message_dict["file"][0]
    assert not Image.objects.exists() and files_in(image_store) == []
