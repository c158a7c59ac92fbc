"""Pages are tested as the people who use them: staff, a reseller, its customer and an
unrelated customer, over one host, a public image and a VM each."""

import pytest
from django.utils import translation

from apps.vms.models import PowerState, VirtualMachine, VmStatus


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A request in Russian leaves Russian active in this thread (LocaleMiddleware does not
    undo it): later tests, in other files too, expect the default language again."""
    yield
    translation.activate("en")


@pytest.fixture
def sized_host(test_host):
    """The test host with capacity as if it had been checked: 4 CPUs, 8 GiB, 100 GiB."""
    test_host.cpus, test_host.memory_mb, test_host.disk_bytes = 4, 8192, 100 * 2**30
    test_host.save()
    return test_host


def make_vm(owner, host, image=None, name="web-1", **fields):
    defaults = {"status": VmStatus.ACTIVE, "power_state": PowerState.RUNNING, "vcpus": 1, "memory_mb": 1024}
    return VirtualMachine.objects.create(name=name, owner=owner, host=host, image=image, **{**defaults, **fields})


@pytest.fixture
def my_vm(customer, sized_host, ready_image):
    return make_vm(customer, sized_host, ready_image, name="mine-1", ip_addresses=["192.0.2.10"])


@pytest.fixture
def their_vm(other_customer, sized_host, ready_image):
    return make_vm(other_customer, sized_host, ready_image, name="theirs-1")


@pytest.fixture
def as_customer(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client
