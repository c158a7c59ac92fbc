"""Real deploys on this machine's libvirtd with TCG guests (marker `libvirt`).

The tests use their own storage pool, so a panel running beside them is not disturbed,
and check at the end that no domain or volume of theirs is left."""

import os
import subprocess
from pathlib import Path

import pytest

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import DomainType, Host, HostStatus
from apps.hosts.services import refresh_host
from apps.images.models import GuestConfig, OsFamily, Visibility
from apps.images.services import import_image_file
from apps.virt.errors import NotFound

IMAGES = Path(os.environ.get("VMM_CACHE", "/var/cache/vmmanager")) / "images"
# The isolated network scripts/host.sh makes (no forwarding, no DNS, 198.51.100.128/25): the
# tests' guests reach nothing beyond this machine.
TEST_NETWORK = "vmm-test"
# One pool per test process: concurrent test runs on one machine never touch each other's
# volumes, and a panel running beside them keeps its own pool.
TEST_POOL = f"vmmtest-{os.getpid()}"
TEST_POOL_PATH = f"/var/lib/vmmanager/test-pools/{os.getpid()}"


@pytest.fixture
def local_host(db):
    host = Host.objects.create(
        name="local",
        uri="qemu:///system",
        domain_type=DomainType.QEMU,
        storage_pool=TEST_POOL,
        storage_path=TEST_POOL_PATH,
        network=TEST_NETWORK,
        status=HostStatus.UNREACHABLE,
    )
    refresh_host(host)
    assert host.status == HostStatus.ONLINE, host.status_reason
    yield host
    leftovers = remove_everything_of(host)
    hypervisor_for(host).delete_pool(TEST_POOL, remove_dir=True)
    assert leftovers == [], f"left on the host: {leftovers}"


def remove_everything_of(host):
    """Remove the test's domains and volumes; return the names that were still there."""
    driver = hypervisor_for(host)
    left = []
    for domain in driver.list_domains():
        if domain.name.startswith("vmm-") and domain.uuid in vm_uuids():
            left.append(domain.name)
            if domain.state not in ("shutoff",):
                driver.destroy(domain.name)
            driver.undefine(domain.name)
    for volume in driver.list_volumes(host.storage_pool):
        if volume.name.startswith("vmm-"):
            left.append(volume.name)
        try:
            driver.delete_volume(host.storage_pool, volume.name)
        except NotFound:
            pass
    return left


def vm_uuids():
    from apps.vms.models import VirtualMachine

    return {str(u) for u in VirtualMachine.objects.values_list("uuid", flat=True)} | _deleted_uuids


_deleted_uuids = set()


@pytest.fixture
def image_store(tmp_path, settings):
    settings.VMM_IMAGE_DIR = tmp_path / "images"
    settings.VMM_WORK_DIR = tmp_path / "work"
    return settings.VMM_IMAGE_DIR


def demo_image(flavour):
    path = IMAGES / f"debian-12-{flavour}.qcow2"
    assert path.exists(), f"{path} is missing: run `make image`"
    return import_image_file(
        path,
        name=f"debian-12-{flavour}",
        os_family="debian",
        os_version="12",
        guest_config=GuestConfig.CLOUD_INIT if flavour == "cloudinit" else GuestConfig.CUSTOMIZE,
        visibility=Visibility.PUBLIC,
    )


@pytest.fixture
def plain_image(db, image_store):
    return demo_image("plain")


@pytest.fixture
def cloudinit_image(db, image_store):
    return demo_image("cloudinit")


@pytest.fixture
def blank_image(db, image_store, tmp_path):
    """An image with nothing on it, deployed the cloud-init way (a seed, no virt-customize):
    for tests about what happens around a deploy that never needs its guest to come up. Its
    VM starts and sits in the BIOS finding nothing to boot: no guest boot to pay for."""
    path = tmp_path / "blank.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "1G"], check=True)
    return import_image_file(
        path,
        name="blank",
        os_family=OsFamily.OTHER_LINUX,
        guest_config=GuestConfig.CLOUD_INIT,
        visibility=Visibility.PUBLIC,
    )


@pytest.fixture(scope="session")
def ssh_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tester@vmm", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()
