"""The World both doors are tried in: staff, a reseller, its customer with one active VM on
a host with room, and a public image. Jobs are written, never run (no hypervisor)."""

from dataclasses import dataclass

import pytest

from apps.accounts.models import User
from apps.hosts.models import Host
from apps.images.models import Image
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.conftest import make_admin, make_customer, make_ready_image, make_reseller, make_test_host


@dataclass
class World:
    admin: User
    reseller: User
    customer: User
    host: Host
    image: Image
    vm: VirtualMachine


@pytest.fixture(autouse=True)
def panel_with_rescue_system(rescue_system):
    """Rescue mode is set up (docs/rescue.md): its rows are accepted unless a case removes it."""


@pytest.fixture(autouse=True)
def jobs_stay_queued(monkeypatch, settings):
    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)
    # Webhook endpoints on a documentation network are allowed (nothing is sent to them here).
    settings.VMM_WEBHOOK_ALLOWED_NETWORKS = ["203.0.113.0/24"]


@pytest.fixture
def world(db):
    return make_world()


def make_world():
    """tests/conftest.py's users, host and image; the host with room for every order here."""
    admin, reseller = make_admin(), make_reseller()
    customer, test_host, ready_image = make_customer(reseller), make_test_host(), make_ready_image()
    test_host.cpus, test_host.memory_mb, test_host.disk_bytes = 64, 131072, 2000 * 2**30
    test_host.save()
    vm = VirtualMachine.objects.create(
        name="mine-1",
        owner=customer,
        host=test_host,
        image=ready_image,
        status=VmStatus.ACTIVE,
        power_state=PowerState.RUNNING,
        vcpus=1,
        memory_mb=1024,
        disk_gb=10,
        hostname="mine-1",
    )
    return World(admin, reseller, customer, test_host, ready_image, vm)
