"""A VM ordered by a plan with a monthly traffic limit, its domain defined (with its NIC) on
libvirt's test driver, and a way to say how much it has transferred this month (a row of
the statistics tables, as the collector's counting leaves it)."""

import pytest
from django.utils import timezone

from apps.accounts.plans import Plan
from apps.hosts.hypervisor import hypervisor_for
from apps.stats.models import TrafficMonth
from apps.stats.traffic import month_of
from apps.virt.types import DomainSpec, NicSpec
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.webhooks.conftest import Receiver

GIB = 2**30


@pytest.fixture
def plan(db):
    return Plan.objects.create(
        name="traffic-10", vcpus=1, memory_mb=512, disk_gb=5, traffic_limit_gb=10, traffic_throttle_mbit=20
    )


@pytest.fixture
def limited_vm(customer, test_host, plan):
    customer.email = "c1@example.com"
    customer.save()
    vm = VirtualMachine.objects.create(
        name="metered", owner=customer, host=test_host, plan=plan, status=VmStatus.ACTIVE,
        power_state=PowerState.RUNNING, mac_address="52:54:00:aa:17:01",
    )  # fmt: skip
    driver = hypervisor_for(test_host)
    driver.define(
        DomainSpec(
            name=vm.domain_name, domain_type=test_host.domain_type, vcpus=1, memory_mb=512,
            nics=(NicSpec(mac=vm.mac_address),),
        )
    )  # fmt: skip
    driver.start(vm.domain_name)
    yield vm
    for call in (driver.destroy, driver.undefine):
        try:
            call(vm.domain_name)
        except Exception:  # noqa: BLE001 - already gone
            pass


def transferred(vm, rx_gib, tx_gib, when=None):
    """The statistics tables say `vm` received `rx_gib` and sent `tx_gib` in `when`'s month
    (default: this one)."""
    TrafficMonth.objects.update_or_create(
        vm_id=vm.pk,
        month=month_of(when or timezone.now()),
        defaults={"rx_bytes": int(rx_gib * GIB), "tx_bytes": int(tx_gib * GIB), "updated_at": timezone.now()},
    )


@pytest.fixture
def receiver(settings):
    settings.VMM_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
