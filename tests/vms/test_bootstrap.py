import io
import re

from django.contrib.auth import authenticate
from django.core.management import call_command

from apps.accounts.models import User
from apps.hosts.models import Host, HostStatus
from apps.images.models import Image, ImageStatus


def bootstrap():
    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    return out.getvalue()


def test_first_run_creates_the_admin_host_and_image_and_a_second_changes_nothing(
    db, monkeypatch, qcow2_file, tmp_path, settings
):
    settings.VMM_IMAGE_DIR = tmp_path / "store"
    monkeypatch.setenv("VMM_LOCAL_HOST_URI", "test:///default")
    monkeypatch.setenv("VMM_DEMO_IMAGE", str(qcow2_file))
    monkeypatch.delenv("VMM_ADMIN_PASSWORD", raising=False)

    first = bootstrap()

    password = re.search(r"created 'admin' with password '([^']+)'", first).group(1)
    assert authenticate(username="admin", password=password).is_superuser
    host = Host.objects.get()
    assert (host.uri, host.domain_type, host.status) == ("test:///default", "qemu", HostStatus.ONLINE)
    image = Image.objects.get()
    assert image.name == qcow2_file.stem and image.status == ImageStatus.READY

    second = bootstrap()

    assert "password" not in second
    assert "admin: exists" in second and "exists" in second.splitlines()[-1]
    assert User.objects.count() == 1 and Host.objects.count() == 1 and Image.objects.count() == 1
    assert Image.objects.get().path == image.path


def test_the_admin_password_can_come_from_the_environment(db, monkeypatch, tmp_path):
    monkeypatch.setenv("VMM_LOCAL_HOST_URI", "test:///default")
    monkeypatch.setenv("VMM_DEMO_IMAGE", str(tmp_path / "none.qcow2"))
    monkeypatch.setenv("VMM_ADMIN_USER", "boss")
    monkeypatch.setenv("VMM_ADMIN_PASSWORD", "s3cret-from-env")

    out = bootstrap()

    assert "s3cret-from-env" not in out
    assert authenticate(username="boss", password="s3cret-from-env") is not None
    assert "make image" in out  # says how to get the missing image
