"""The world Schemathesis runs against: staff, a reseller with a customer (with a quota, a
VM, an SSH key and a token each), an online host with room, a ready public image and a
plan. `seed()` builds it in the current database and returns the API secrets by role."""

from apps.accounts.models import Role, User
from apps.accounts.plans import Plan
from apps.accounts.quotas import Quota
from apps.accounts.sshkeys import SshKey, fingerprint
from apps.accounts.tokens import ApiToken
from apps.hosts.models import DomainType, Host, HostStatus
from apps.images.models import Image, ImageStatus, Visibility
from apps.vms.models import VirtualMachine, VmStatus

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@example"


def seed():
    admin = User.objects.create_superuser("fuzz-admin", "admin@example.com", "pw-fuzz-admin-1", role=Role.ADMIN)
    reseller = User.objects.create_user("fuzz-reseller", password="pw-fuzz-reseller-1", role=Role.RESELLER)
    customer = User.objects.create_user(
        "fuzz-customer", password="pw-fuzz-customer-1", role=Role.CUSTOMER, reseller=reseller
    )
    Quota.objects.create(user=customer, max_vms=50)
    host = Host.objects.create(
        name="roomy", uri="test:///default", domain_type=DomainType.QEMU, status=HostStatus.ONLINE,
        cpus=64, memory_mb=512 * 1024, disk_bytes=100 * 2**40,
    )  # fmt: skip
    Image.objects.create(
        name="debian-12", os_family="debian", os_version="12", virtual_size_bytes=2 * 2**30,
        checksum_sha256="0" * 64, visibility=Visibility.PUBLIC, status=ImageStatus.READY,
    )  # fmt: skip
    Plan.objects.create(name="small", vcpus=1, memory_mb=512, disk_gb=5)
    VirtualMachine.objects.create(name="web-1", owner=customer, host=host, status=VmStatus.ACTIVE)
    SshKey.objects.create(owner=customer, name="laptop", public_key=SSH_KEY, fingerprint=fingerprint(SSH_KEY))
    return {role: ApiToken.objects.issue(user, "fuzz")[1] for role, user in (("staff", admin), ("customer", customer))}
