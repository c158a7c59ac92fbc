"""The World both doors are tried in: staff, a reseller, its customer with one active VM on
a host with room, and a public image. Jobs are written, never run (no hypervisor)."""

from dataclasses import dataclass

import pytest

from apps.accounts.models import Role, User
from apps.hosts.models import DomainType, Host, HostStatus
from apps.images.models import Image, ImageStatus, Visibility
from apps.vms.models import PowerState, VirtualMachine, VmStatus


@dataclass
class World:
    admin: User
    reseller: User
    customer: User
    host: Host
    image: Image
    vm: VirtualMachine


@pytest.fixture(autouse=True)
def jobs_stay_queued(monkeypatch):
    monkeypatch.setattr("apps.jobs.runner.enqueue", lambda job, sync=None: None)


@pytest.fixture
def world(db):
    reseller = User.objects.create_user("door-reseller", password="pw-reseller-1", role=Role.RESELLER)
    customer = User.objects.create_user("door-customer", password="pw-cust-1", role=Role.CUSTOMER, reseller=reseller)
    admin = User.objects.create_superuser("door-admin", "admin@example.com", "pw-admin-1", role=Role.ADMIN)
    host = Host.objects.create(
        name="roomy",
        uri="test:///default",
        domain_type=DomainType.QEMU,
        storage_pool="default-pool",
        storage_path="/default-pool",
        status=HostStatus.ONLINE,
        cpus=64,
        memory_mb=131072,
        disk_bytes=2000 * 2**30,
    )
    image = Image.objects.create(
        name="debian-12",
        os_family="debian",
        virtual_size_bytes=2 * 2**30,
        checksum_sha256="0" * 64,
        visibility=Visibility.PUBLIC,
        status=ImageStatus.READY,
    )
    vm = VirtualMachine.objects.create(
        name="mine-1",
        owner=customer,
        host=host,
        image=image,
        status=VmStatus.ACTIVE,
        power_state=PowerState.RUNNING,
        vcpus=1,
        memory_mb=1024,
        disk_gb=10,
        hostname="mine-1",
    )
    return World(admin, reseller, customer, host, image, vm)
