import subprocess

import pytest
from django.core.exceptions import ValidationError

from apps.images.files import sha256_of
from apps.images.models import Image, ImageStatus
from apps.images.services import import_image_file


@pytest.fixture
def image_store(tmp_path, settings):
    settings.VMM_IMAGE_DIR = tmp_path / "store"
    return settings.VMM_IMAGE_DIR


def test_an_imported_image_is_ready_with_its_size_and_checksum(db, qcow2_file, image_store):
    image = import_image_file(qcow2_file, name="debian-12", os_family="debian", os_version="12")

    assert image.status == ImageStatus.READY
    assert image.format == "qcow2"
    assert image.virtual_size_bytes == 64 * 2**20
    assert image.checksum_sha256 == sha256_of(qcow2_file)
    assert sha256_of(image.path) == image.checksum_sha256
    assert str(image_store) in image.path


def test_a_file_that_is_not_an_image_is_refused_naming_the_file_and_nothing_is_left(db, tmp_path, image_store):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an image")
    subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", str(tmp_path / "x.vmdk"), "1M"], check=True)

    with pytest.raises(ValidationError) as error:
        import_image_file(tmp_path / "x.vmdk", name="x", os_family="debian")
    assert "file" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        import_image_file(tmp_path / "missing.qcow2", name="y", os_family="debian")
    assert "file" in error.value.message_dict

    assert not Image.objects.exists()
    assert not image_store.exists() or not any(image_store.iterdir())


def test_an_image_with_a_backing_file_is_refused(db, tmp_path, qcow2_file, image_store):
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(qcow2_file), "-F", "qcow2", str(overlay)], check=True
    )
    with pytest.raises(ValidationError, match="backing file"):
        import_image_file(overlay, name="overlay", os_family="debian")


def test_a_taken_name_is_refused(db, qcow2_file, image_store):
    import_image_file(qcow2_file, name="debian-12", os_family="debian")
    with pytest.raises(ValidationError) as error:
        import_image_file(qcow2_file, name="debian-12", os_family="debian")
    assert "name" in error.value.message_dict
    assert Image.objects.count() == 1


def test_a_moved_import_takes_the_file_into_the_store(db, qcow2_file, image_store):
    checksum = sha256_of(qcow2_file)  # how the make-image operation registers a VM's image

    image = import_image_file(qcow2_file, name="web-1-template", os_family="debian", move=True)

    assert not qcow2_file.exists()
    assert image.status == ImageStatus.READY and sha256_of(image.path) == checksum == image.checksum_sha256
