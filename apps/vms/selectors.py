"""Reading VMs for a user: the tenancy scope (apps.accounts.tenancy.owners_q) applied to VMs.
Every door (UI, API, websockets) lists and fetches VMs through `visible_vms`; a VM outside
the scope is "not found", never "forbidden"."""

from apps.accounts.tenancy import owners_q
from apps.vms.models import VirtualMachine


def visible_vms(user):
    """The VMs `user` may see: all for staff, a reseller's and its customers', a customer's own."""
    return VirtualMachine.objects.filter(owners_q(user))
