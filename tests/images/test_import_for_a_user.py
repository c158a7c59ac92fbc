"""Bringing an image in for a user (apps.images.services.import_image): staff import files
on the panel machine and upload, resellers upload; staff's images are the provider's and
public unless told otherwise, a reseller's are its own and private; customers neither."""

import shutil

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.images.models import Image, ImageStatus, Visibility
from apps.images.services import import_image, incoming_dir
from apps.jobs.models import Job
from tests.concurrency import first_commits_once_the_second_waits


@pytest.fixture(autouse=True)
def image_store(tmp_path, settings):
    settings.VMM_IMAGE_DIR = tmp_path / "store"
    return settings.VMM_IMAGE_DIR


def an_upload(path):
    """`path` as an upload lands: in the store's incoming folder."""
    incoming_dir().mkdir(parents=True, exist_ok=True)
    return str(shutil.copy(path, incoming_dir() / "upload.part"))


def test_staff_import_a_file_as_a_public_image_of_the_provider(admin_user, qcow2_file):
    image, job = import_image(admin_user, str(qcow2_file), name="alpine", os_family="linux")

    assert (image.owner, image.visibility, image.status) == (None, Visibility.PUBLIC, ImageStatus.PENDING)
    assert (job.kind, job.target, job.actor) == ("image_import", image, admin_user)


def test_a_reseller_may_upload_but_not_import_a_file_of_the_panel_machine(reseller, qcow2_file):
    with pytest.raises(PermissionDenied, match="Only the provider's staff"):
        import_image(reseller, str(qcow2_file), name="alpine", os_family="linux")

    image, _job = import_image(reseller, an_upload(qcow2_file), name="alpine", os_family="linux", uploaded=True)
    assert (image.owner, image.visibility) == (reseller, Visibility.PRIVATE)


def test_customers_bring_no_images_in(customer, qcow2_file):
    for uploaded in (False, True):
        with pytest.raises(PermissionDenied):
            import_image(customer, str(qcow2_file), name="alpine", os_family="linux", uploaded=uploaded)
    assert not Image.objects.exists() and not Job.objects.exists()


def test_a_reseller_may_not_publish_its_upload(reseller, qcow2_file):
    with pytest.raises(ValidationError) as refused:
        import_image(
            reseller, an_upload(qcow2_file), name="alpine", os_family="linux", visibility="public", uploaded=True
        )
    assert list(refused.value.message_dict) == ["visibility"]
    assert not Image.objects.exists()


def test_a_file_problem_is_named_after_how_the_file_came(admin_user, tmp_path):
    missing = str(tmp_path / "missing.qcow2")
    with pytest.raises(ValidationError) as by_path:
        import_image(admin_user, missing, name="a", os_family="linux")
    with pytest.raises(ValidationError) as by_upload:
        import_image(admin_user, missing, name="a", os_family="linux", uploaded=True)
    assert list(by_path.value.message_dict) == ["path"] and list(by_upload.value.message_dict) == ["file"]


def test_a_path_the_file_system_cannot_even_look_up_is_no_such_file(admin_user, tmp_path):
    with pytest.raises(ValidationError) as refused:
        import_image(admin_user, str(tmp_path / ("x" * 300)), name="a", os_family="linux")
    assert "No such file" in refused.value.message_dict["path"][0]


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_name_at_the_same_moment_refuse_the_second_on_its_name(admin_user, qcow2_file, monkeypatch):
    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)  # no worker here

    def alpine():
        return import_image(admin_user, str(qcow2_file), name="alpine", os_family="linux")

    with first_commits_once_the_second_waits(alpine), pytest.raises(ValidationError) as refused:
        alpine()

    assert refused.value.message_dict == {"name": ["An image named 'alpine' already exists."]}
    assert Image.objects.filter(name="alpine").count() == 1
