"""The work of the extra-address jobs (apps.vms.operations.vm_address_add/_remove): bind the
VM's interface filter to the addresses it holds, then change the running guest through its
agent: the address live with `ip address`, and the network config it boots with
(apps.vms.guest_persist: the systemd-networkd unit the deploy wrote, or what cloud-init
rendered). A guest whose agent does not answer is left as it is, and the job says so."""

from django.utils import timezone

from apps.hosts.hypervisor import hypervisor_for
from apps.ipam.allocation import addresses_of
from apps.ipam.guest import filter_for, guest_network
from apps.ipam.models import Address
from apps.jobs.runner import OperationError
from apps.virt.domain_xml import DUAL_STACK_FILTER
from apps.virt.errors import VirtError
from apps.virt.types import DomainState
from apps.vms.guest_persist import PERSIST, persist_args

FILTER_STEP = "Update the interface filter"
GUEST_STEP = "Configure the guest"
# $1 MAC, $2 CIDR; ACTION is `replace` (add) or `del`. Then what keeps it across reboots
# (apps.vms.guest_persist: $3.. the files it may write).
LIVE = (
    'dev=""; for d in /sys/class/net/*; do [ "$(cat "$d/address")" = "$1" ] && dev=${d##*/}; done; '
    '[ -n "$dev" ] || { echo "no interface with MAC $1"; exit 3; }; '
    'ip address ACTION "$2" dev "$dev" || exit 4\n'
)


def update_filter(ctx, vm, *, without=None):
    """Bind `vm`'s interface to its addresses (less `without`, an Address id). Notes whether
    the running domain took it at once."""
    if not vm.mac_address:
        raise OperationError("the VM has no MAC address on record: its interface cannot be found")
    held = [a for a in addresses_of(vm) if a.pk != without]
    name, params = filter_for(held, vm.mac_address)
    driver = hypervisor_for(vm.host)
    if name == DUAL_STACK_FILTER:
        driver.ensure_dual_stack_filter()  # a VM deployed before this version of it moves to it now
    live = driver.update_interface_filter(vm.domain_name, vm.mac_address, name, params)
    ctx.note(
        "the running domain's filter allows: " + ", ".join(a.address for a in held)
        if live
        else "the domain's config allows: " + ", ".join(a.address for a in held) + " (live from its next start)"
    )
    return held


def configure_guest(ctx, vm, address, action):
    """Add (`replace`) or remove (`del`) `address` in the running guest; a guest that is
    stopped or whose agent does not answer is left alone, with a note saying what to do."""
    driver = hypervisor_for(vm.host)
    try:
        running = driver.get_domain(vm.domain_name).state == DomainState.RUNNING
        ready = running and driver.agent_ready(vm.domain_name)
    except VirtError:
        ready = False
    if not ready:
        ctx.note(
            f"the guest agent does not answer: configure {address.cidr} in the guest yourself "
            f"({'add' if action == 'replace' else 'remove'} it); a reinstall writes it"
        )
        return
    files = persist_args(guest_network(addresses_of(vm)), vm.mac_address)
    argv = ["/bin/sh", "-c", LIVE.replace("ACTION", action) + PERSIST, "sh", vm.mac_address, address.cidr, *files]
    code, output = driver.agent_exec(vm.domain_name, argv, timeout=60)
    if code != 0:
        verb = "add" if action == "replace" else "remove"
        raise OperationError(f"the guest could not {verb} {address.cidr}: {output.strip()[-300:]}")
    said = [line for line in output.splitlines() if line.startswith(("kept in ", "not kept: "))]
    kept = said[-1] if said else "not kept: the guest did not say where"
    ctx.note(f"{address.cidr} {'configured' if action == 'replace' else 'removed'} in the guest; {kept}")


def step_done(ctx, name):
    return ctx.job.steps.filter(name=name, status="succeeded").exists()


def give_back(vm, address_id):
    """An added address the guest never got: free at once (no cool-down)."""
    Address.objects.filter(pk=address_id, vm=vm).update(vm=None, assigned_at=None)


def release_one(vm, address_id):
    """A removed address: free after the cool-down, without its reverse name."""
    Address.objects.filter(pk=address_id, vm=vm).update(
        vm=None, assigned_at=None, released_at=timezone.now(), reverse_name=""
    )
