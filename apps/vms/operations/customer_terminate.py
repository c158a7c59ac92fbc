"""Terminate a suspended customer once its grace period is over (started by
apps.vms.suspension.terminate_due): each VM removed from its host and forgotten."""

from apps.accounts.models import User
from apps.vms import suspension_work
from apps.vms.cleanup import remove_from_host
from apps.vms.models import VirtualMachine, VmStatus


def _delete(vm):
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.DELETING)
    if vm.host is not None:
        remove_from_host(vm)
    vm.delete()


def run(ctx, user):
    vms = list(VirtualMachine.objects.filter(owner=user).values_list("pk", flat=True))
    suspension_work.each_vm(ctx, vms, "Delete", _delete)
    User.objects.filter(pk=user.pk).update(terminate_at=None)
