"""VMs whose domains really exist on the test driver."""

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.errors import NotFound
from apps.virt.types import DomainSpec
from apps.vms.models import VirtualMachine, VmStatus


def vm_with_domain(owner, host, *, name="web-1", running=True, **fields):
    """Create a VM row and define (and start) its domain on `host`."""
    vm = VirtualMachine.objects.create(name=name, owner=owner, host=host, status=VmStatus.ACTIVE, **fields)
    driver = hypervisor_for(host)
    driver.define(DomainSpec(name=vm.domain_name, domain_type=host.domain_type, vcpus=vm.vcpus, memory_mb=vm.memory_mb))
    if running:
        driver.start(vm.domain_name)
    return vm


def remove_from_test_driver(vm, pool="default-pool"):
    """What a test made of `vm` on the test driver gone: its domain (powered off first, if it
    runs) and its volumes in `pool`."""
    driver = hypervisor_for(vm.host)
    try:
        if driver.get_domain(vm.domain_name).state == "running":
            driver.destroy(vm.domain_name)
        driver.undefine(vm.domain_name)
    except NotFound:
        pass
    for volume in driver.list_volumes(pool):
        if volume.name.startswith(f"vmm-{vm.uuid}-"):
            driver.delete_volume(pool, volume.name)
