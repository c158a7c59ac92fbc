"""apps.vms.quotas.usages: what many users hold, in ten queries, equal to usage() per user
(a reseller counts its customers' VMs, addresses, snapshots, backups and the GiB they hold)."""

from apps.accounts.models import User
from apps.backups.models import Backup, BackupRepository
from apps.ipam.models import Address, Network, NetworkKind
from apps.ipam.pools import create_pool
from apps.vms.models import Snapshot
from apps.vms.quotas import usage, usages
from tests.ui.conftest import make_vm


def test_usages_of_many_users_equal_usage_of_each_in_ten_queries(
    reseller, customer, other_customer, admin_user, test_host, django_assert_num_queries
):
    c1 = make_vm(customer, test_host, name="c-1", vcpus=2, memory_mb=2048, disk_gb=20)
    make_vm(customer, test_host, name="c-2", vcpus=1, memory_mb=1024, disk_gb=10)
    r1 = make_vm(reseller, test_host, name="r-1", vcpus=4, memory_mb=4096, disk_gb=40)
    o1 = make_vm(other_customer, test_host, name="o-1", vcpus=1, memory_mb=512, disk_gb=5)
    network = Network.objects.create(name="public", kind=NetworkKind.ISOLATED, libvirt_network="vmm-test-public")
    pool = create_pool(network=network, name="v4", subnet="198.51.100.0/28", gateway="198.51.100.1")
    free = iter(Address.objects.filter(pool=pool, vm=None).order_by("pk"))
    for vm in (c1, c1, r1, o1):  # two addresses on c-1
        Address.objects.filter(pk=next(free).pk).update(vm=vm)
    for vm, name in ((c1, "a"), (c1, "b"), (o1, "a")):
        Snapshot.objects.create(vm=vm, name=name, overlay_volume=f"{vm.pk}-{name}", state="ready")
    users = list(User.objects.all())

    repository = BackupRepository.objects.create(name="r", path="/srv/r", password="x" * 8)
    for vm, added in ((c1, 3 * 2**29), (r1, 2**30)):
        Backup.objects.create(
            vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, filename="d.raw", added_bytes=added
        )
    Backup.objects.create(
        vm=None, vm_name="gone", owner=customer, repository=repository, filename="d.raw", added_bytes=1
    )  # kept when its VM was deleted: counted too

    with django_assert_num_queries(10):
        many = usages(users)

    assert many == {user.pk: usage(user) for user in users}
    assert many[reseller.pk] == {"vms": 3, "vcpus": 7, "memory_mb": 7168, "disk_gb": 70, "addresses": 3, "snapshots": 2,
                                 "backups": 3, "backup_gb": 3}  # fmt: skip
    assert many[customer.pk]["backup_gb"] == 2  # 1.5 GiB and 1 byte: rounded up
    assert many[other_customer.pk]["snapshots"] == 1
    assert many[customer.pk]["addresses"] == 2 and many[other_customer.pk]["addresses"] == 1
