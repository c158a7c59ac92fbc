"""Deleting an image: refused while a VM was made from it or it is still importing; else
the image_delete job removes its copy on each host, its file in the store and the image."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.hosts.hypervisor import hypervisor_for
from apps.images.models import Image, ImageCopy, ImageStatus
from apps.images.removal import delete_image
from apps.images.services import import_image_file
from apps.jobs.models import JobStatus, StepStatus
from apps.vms.models import VirtualMachine


@pytest.fixture
def image_store(tmp_path, settings):
    settings.VMM_IMAGE_DIR = tmp_path / "store"
    return settings.VMM_IMAGE_DIR


@pytest.fixture
def image(db, qcow2_file, image_store):
    return import_image_file(qcow2_file, name="debian-12", os_family="debian")


def copy_on(host, image):
    """A real volume in the host's pool (libvirt's test driver) registered as the image's copy."""
    volume = f"image-{image.pk}-test.qcow2"
    hypervisor_for(host).create_volume(host.storage_pool, volume, 2**20)
    return ImageCopy.objects.create(image=image, host=host, volume=volume, status="ready")


def volumes(host):
    return [v.name for v in hypervisor_for(host).list_volumes(host.storage_pool)]


def test_the_job_removes_the_copies_the_file_and_the_image(
    image, image_store, test_host, admin_user, django_capture_on_commit_callbacks
):
    copy = copy_on(test_host, image)
    assert copy.volume in volumes(test_host)

    with django_capture_on_commit_callbacks(execute=True):
        job = delete_image(image, actor=admin_user)

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [s.status for s in job.steps.all()] == [StepStatus.SUCCEEDED] * 4
    assert f"removed from {test_host.name}" in job.steps.get(position=2).detail
    assert copy.volume not in volumes(test_host)
    assert not Image.objects.filter(pk=image.pk).exists() and not ImageCopy.objects.exists()
    assert not any(p.is_file() for p in image_store.iterdir())


def test_an_image_a_vm_was_made_from_is_kept(image, customer, test_host, django_capture_on_commit_callbacks):
    VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, image=image)

    with pytest.raises(ValidationError, match="1 VM was made from this image"):
        delete_image(image)

    assert Image.objects.filter(pk=image.pk).exists()


def test_a_vm_ordered_after_the_delete_was_queued_stops_the_job(
    image, customer, test_host, django_capture_on_commit_callbacks
):
    copy = copy_on(test_host, image)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        job = delete_image(image)
    VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, image=image)

    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "made from this image" in job.error
    assert copy.volume in volumes(test_host)  # the VM's base is still there
    assert Image.objects.get(pk=image.pk).status == ImageStatus.READY


def test_an_image_still_importing_cannot_be_deleted(db):
    pending = Image.objects.create(name="uploading", status=ImageStatus.PENDING)
    with pytest.raises(ValidationError, match="still being imported"):
        delete_image(pending)


def test_only_the_owner_or_staff_may_delete_an_image(db, reseller, customer, admin_user):
    golden = Image.objects.create(
        name="golden", owner=reseller, status=ImageStatus.READY, virtual_size_bytes=2**30, checksum_sha256="2" * 64
    )
    with pytest.raises(PermissionDenied, match="Only the image's owner"):
        delete_image(golden, actor=customer)  # sees its reseller's image, does not own it
    assert delete_image(golden, actor=reseller).kind == "image_delete"
    assert delete_image(golden, actor=admin_user).kind == "image_delete"
