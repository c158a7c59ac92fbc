"""States a world's VM (`world.vm`, owned by `world.users["customer"]`) is put in before a
door is asked to change it, shared by the parity tests of a VM's snapshots and backups."""

from apps.hosts.models import Host
from apps.jobs import runner
from apps.vms.models import VirtualMachine


def suspended(world):
    VirtualMachine.objects.filter(pk=world.vm.pk).update(suspended_at="2026-01-01T00:00Z", suspension_reason="unpaid")


def host_lost(world):
    Host.objects.filter(pk=world.vm.host_id).update(status="unreachable")


def busy(world):
    """Another job holds the VM."""
    runner.submit("vm_stop", VirtualMachine.objects.get(pk=world.vm.pk), actor=world.users["customer"])
