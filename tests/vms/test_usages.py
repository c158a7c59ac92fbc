"""apps.vms.quotas.usages: what many users hold, in two queries, equal to usage() per user
(a reseller counts its customers' VMs)."""

from apps.accounts.models import User
from apps.vms.quotas import usage, usages
from tests.ui.conftest import make_vm


def test_usages_of_many_users_equal_usage_of_each_in_two_queries(
    reseller, customer, other_customer, admin_user, test_host, django_assert_num_queries
):
    make_vm(customer, test_host, name="c-1", vcpus=2, memory_mb=2048, disk_gb=20)
    make_vm(customer, test_host, name="c-2", vcpus=1, memory_mb=1024, disk_gb=10)
    make_vm(reseller, test_host, name="r-1", vcpus=4, memory_mb=4096, disk_gb=40)
    make_vm(other_customer, test_host, name="o-1", vcpus=1, memory_mb=512, disk_gb=5)
    users = list(User.objects.all())

    with django_assert_num_queries(2):
        many = usages(users)

    assert many == {user.pk: usage(user) for user in users}
    assert many[reseller.pk] == {"vms": 3, "vcpus": 7, "memory_mb": 7168, "disk_gb": 70}
