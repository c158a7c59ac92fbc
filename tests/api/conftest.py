"""Fixtures for the API tests: a client per role (token or session), a host with room,
stub operations for the ones still being written, and no job ever leaving the test."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.accounts.models import Role, User
from apps.accounts.tokens import ApiToken
from apps.hosts.models import DomainType, Host, HostStatus
from apps.vms.models import VirtualMachine, VmStatus

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@example"
PASSWORD = "Str0ng-Passw0rd!x"
STUB = 'STEPS = ["Stub"]\n\n\ndef run(ctx, target, **params):\n    pass\n'


@pytest.fixture(autouse=True)
def quiet_jobs(monkeypatch, settings, tmp_path):
    """Jobs are only written, never run; vm_create has a stub so ordering works whatever
    the state of the real operation. Throttle counters start empty."""
    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)
    operations = tmp_path / "operations"
    operations.mkdir()
    (operations / "vm_create.py").write_text(STUB)
    settings.VMM_OPERATIONS_DIR = str(operations)
    cache.clear()


@pytest.fixture
def other_reseller(db):
    return User.objects.create_user("reseller-2", password="pw-reseller-2", role=Role.RESELLER)


def make_roomy_host():
    """An online host with room for many VMs (test driver; nothing boots)."""
    return Host.objects.create(
        name="roomy",
        uri="test:///default",
        domain_type=DomainType.QEMU,
        status=HostStatus.ONLINE,
        cpus=64,
        memory_mb=512 * 1024,
        disk_bytes=100 * 2**40,
    )


@pytest.fixture
def host(db):
    return make_roomy_host()


def client_for(user, *, read_only=False, session=False):
    client = APIClient()
    if user is None:
        return client
    if session:
        client.force_login(user)
        return client
    _, raw = ApiToken.objects.issue(user, f"test-{ApiToken.objects.count()}", read_only=read_only)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_token = raw
    return client


@pytest.fixture
def api():
    """api(user, read_only=False, session=False) -> an APIClient signed in as `user`."""
    return client_for


def make_vm(owner, host, name="web-1", **fields):
    return VirtualMachine.objects.create(name=name, owner=owner, host=host, **{"status": VmStatus.ACTIVE, **fields})


def order(image, name="web-1", **extra):
    """The body of a VM order that create_vm accepts."""
    return {"name": name, "image": image.pk, "vcpus": 1, "memory_mb": 512, "disk_gb": 5, "password": PASSWORD, **extra}


def codes(response):
    return [(e["field"], e["code"]) for e in response.json()["errors"]]
