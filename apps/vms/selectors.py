"""Reading VMs for a user: the tenancy scope (apps.accounts.tenancy.owners_q) applied to VMs.
Every door (UI, API, websockets) lists and fetches VMs through `visible_vms`; a VM outside
the scope is "not found", never "forbidden"."""

from django.db.models import Exists, OuterRef

from apps.accounts.tenancy import owners_q
from apps.vms.models import OwedCleanup, VirtualMachine


def visible_vms(user):
    """The VMs `user` may see: all for staff, a reseller's and its customers', a customer's own."""
    return VirtualMachine.objects.filter(owners_q(user))


def with_cleanup_pending(vms):
    """`vms` annotated with `cleanup_pending`: a failed operation still owes the VM's host a
    clean-up (apps.vms.cleanup). A subquery, so a list costs no query per VM."""
    return vms.annotate(cleanup_pending=Exists(OwedCleanup.objects.filter(vm=OuterRef("pk"), done_at__isnull=True)))
