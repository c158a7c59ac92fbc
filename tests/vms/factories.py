"""VMs whose domains really exist on the test driver."""

from apps.hosts.hypervisor import hypervisor_for
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
