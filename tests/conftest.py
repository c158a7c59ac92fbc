"""Shared data for the suite: users of each role, a host on libvirt's test driver and a
ready image. Each test file starts from these."""

import gc
import subprocess
import uuid

import pytest
from django.db import transaction

from apps.accounts.models import Role, User
from apps.hosts.models import DomainType, Host, HostStatus
from apps.images.models import Image, ImageStatus, Visibility
from tests import flush
from tests.lanes import pytest_addoption, pytest_collection_modifyitems  # noqa: F401 (hooks: --lane K/N)

flush.install()  # transactional tests end with DELETE, not TRUNCATE (tests/flush.py)


def pytest_collection_finish(session):
    """Everything alive once the tests are collected (Django, the apps, the test modules and
    the plugins: some 200,000 objects) lives until the end: gc.freeze() moves it out of the
    collector's sight. A full collection then walks only what the tests made since: the
    gc.collect() of the libvirt fixtures (tests/virt, tests/health, tests/vms) went from
    0.3-1 s to milliseconds each, and so do the interpreter's own full collections."""
    gc.collect()
    gc.freeze()


_tests_since_freeze = {"count": 0, "module": None}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """What the tests keep alive grows too (caches, reports, long-lived threads): once 50 tests
    have run, at the next test file (the previous file's fixtures are gone by then) the
    garbage is collected and the survivors frozen as well, so a full collection stays cheap
    to the end of the run instead of walking a few hundred thousand objects again."""
    state = _tests_since_freeze
    state["count"] += 1
    if item.module is not state["module"]:
        state["module"] = item.module
        if state["count"] >= 50:
            state["count"] = 0
            gc.collect()
            gc.freeze()


def make_admin():
    return User.objects.create_superuser("root-admin", "admin@example.com", "pw-admin-1", role=Role.ADMIN)


def make_reseller():
    return User.objects.create_user("reseller-1", password="pw-reseller-1", role=Role.RESELLER)


def make_customer(reseller):
    return User.objects.create_user("customer-1", password="pw-customer-1", role=Role.CUSTOMER, reseller=reseller)


def make_other_customer():
    return User.objects.create_user("customer-2", password="pw-customer-2", role=Role.CUSTOMER)


def make_ready_image():
    return Image.objects.create(
        name="debian-12",
        os_family="debian",
        os_version="12",
        virtual_size_bytes=2 * 2**30,
        checksum_sha256="0" * 64,
        visibility=Visibility.PUBLIC,
        status=ImageStatus.READY,
    )


def made_once(django_db_blocker, make, *args):
    """The body of a module-scoped fixture (`yield from made_once(django_db_blocker, make)`):
    what make(*args) builds is made once for the module's tests, in a transaction rolled back
    after the last one; each test runs in a savepoint inside it (django_db), so what a call
    changes is undone before the next, as with Django's setUpTestData. Request
    django_db_setup in the fixture."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield make(*args)
        transaction.set_rollback(True)


@pytest.fixture
def admin_user(db):
    return make_admin()


@pytest.fixture
def reseller(db):
    return make_reseller()


@pytest.fixture
def customer(db, reseller):
    return make_customer(reseller)


@pytest.fixture
def other_customer(db):
    return make_other_customer()


def make_test_host():
    """A host on libvirt's in-process test driver (state lives as long as this process)."""
    return Host.objects.create(
        name="test-host",
        uri="test:///default",
        domain_type=DomainType.QEMU,
        storage_pool="default-pool",
        storage_path="/default-pool",
        status=HostStatus.ONLINE,
    )


@pytest.fixture
def test_host(db):
    return make_test_host()


@pytest.fixture
def ready_image(db):
    return make_ready_image()


@pytest.fixture
def rescue_system(settings, tmp_path):
    """The rescue system's files where the panel looks for them (VMM_RESCUE_KERNEL/INITRD): what
    the services check. Their bytes matter only to a real boot (tests/deploy/test_rescue_real.py)."""
    kernel, initrd = tmp_path / "rescue-vmlinuz", tmp_path / "rescue-initrd.img"
    kernel.write_bytes(b"kernel")
    initrd.write_bytes(b"initrd")
    settings.VMM_RESCUE_KERNEL, settings.VMM_RESCUE_INITRD = str(kernel), str(initrd)
    return kernel, initrd


@pytest.fixture
def qcow2_file(tmp_path):
    """A real (empty) qcow2 image of 64 MiB made by qemu-img."""
    path = tmp_path / f"img-{uuid.uuid4().hex[:8]}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
    return path
