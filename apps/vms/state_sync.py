"""Keeping VMs' power state in step with what their host reports: the host watcher
(apps.hosts.watcher) calls these through apps.hosts.domain_sync, registered in
VmsConfig.ready().

Contract:
- `apply_event(host, event, driver)`: one lifecycle event of domain `vmm-<uuid>` on `host`
  sets that VM's `power_state` and `state_synced_at` with one UPDATE and announces the VM
  (`vm_changed`: apps/live pushes it to open pages). Only a VM the panel has on that very
  host changes (a domain of the same name elsewhere, e.g. a leftover after a move, does
  not). It records the power state even while a job holds the VM (the hypervisor's word is
  a fact, and pages show it live); it never changes the VM's `status`, which is the job's
  business. An event that does not say the new state (defined, undefined, shutdown) is
  resolved by reading the domain: gone means `missing`. Returns the updated VM or None.
  Raises the driver's `Unreachable`.
- `reconcile_host(host, driver)`: one bulk listing of the host's domains, compared with
  the host's active VMs that no job holds; every difference is fixed (a domain that is
  not there means `missing`) with a conditional UPDATE that loses to any change made
  meanwhile, and the changed VMs are announced. Returns a `Reconciled` summary. Raises
  the driver's `Unreachable`/`OperationFailed` (nothing is changed then).
"""

import logging
import uuid
from dataclasses import dataclass, field

from django.utils import timezone

from apps.virt.errors import NotFound
from apps.vms.models import POWER_STATE_FROM_DRIVER, PowerState, VirtualMachine, VmStatus
from apps.vms.signals import notify_vm_changed

# The watcher's logger: these lines tell the watcher's story.
logger = logging.getLogger("vmmanager.hosts")

DOMAIN_PREFIX = "vmm-"


def vm_uuid(domain_name):
    """The VM uuid in a domain name `vmm-<uuid>`, or None for domains the panel did not make."""
    if not domain_name.startswith(DOMAIN_PREFIX):
        return None
    try:
        return uuid.UUID(domain_name[len(DOMAIN_PREFIX) :])
    except ValueError:
        return None


def power_state(domain_state):
    """Our PowerState for a driver DomainState; None (no such domain) is `missing`."""
    if domain_state is None:
        return PowerState.MISSING
    return POWER_STATE_FROM_DRIVER.get(domain_state, PowerState.UNKNOWN)


def _announce(pk):
    vm = VirtualMachine.objects.filter(pk=pk).first()
    if vm is not None:
        notify_vm_changed(vm)


def apply_event(host, event, driver):
    """Record what lifecycle `event` says about its VM on `host` (see the module docstring)."""
    uid = vm_uuid(event.name)
    if uid is None:
        return None
    state = event.state
    if state is None:
        try:
            state = driver.get_domain(event.name).state
        except NotFound:
            state = None  # undefined (or moved away): missing here
    new = power_state(state)
    count = VirtualMachine.objects.filter(uuid=uid, host_id=host.pk).update(
        power_state=new, state_synced_at=timezone.now()
    )
    if not count:
        return None
    logger.info("host %s: %s %s (%s) -> %s", host.name, event.name, event.event, event.detail, new)
    vm = VirtualMachine.objects.get(uuid=uid)
    notify_vm_changed(vm)
    return vm


@dataclass
class Reconciled:
    """What one reconciliation of a host found."""

    checked: int = 0  # VMs compared
    changed: dict = field(default_factory=dict)  # vm pk -> (old, new) power state
    foreign: list = field(default_factory=list)  # vmm-* domains with no VM of the panel on this host


def reconcile_host(host, driver):
    """Compare `host`'s domains with its VMs and fix the VMs' power state (module docstring)."""
    # Read the VMs before listing: a change made after the read (an event, a job) makes the
    # conditional UPDATE below miss, so a listing older than that change never overwrites it.
    vms = list(
        VirtualMachine.objects.filter(host=host, status=VmStatus.ACTIVE, current_job__isnull=True).values_list(
            "pk", "uuid", "power_state"
        )
    )
    states = driver.domain_states()
    now = timezone.now()
    result = Reconciled(checked=len(vms))
    unchanged = []
    for pk, uid, old in vms:
        new = power_state(states.get(f"{DOMAIN_PREFIX}{uid}"))
        if new == old:
            unchanged.append(pk)
            continue
        count = VirtualMachine.objects.filter(pk=pk, host=host, power_state=old, current_job__isnull=True).update(
            power_state=new, state_synced_at=now
        )
        if count:
            result.changed[pk] = (old, new)
    if unchanged:
        VirtualMachine.objects.filter(pk__in=unchanged).update(state_synced_at=now)
    known = {f"{DOMAIN_PREFIX}{uid}" for uid in VirtualMachine.objects.filter(host=host).values_list("uuid", flat=True)}
    result.foreign = sorted(name for name in states if vm_uuid(name) and name not in known)
    for pk, (old, new) in result.changed.items():
        logger.warning("host %s: VM %s was %s, the host says %s", host.name, pk, old, new)
        _announce(pk)
    if result.foreign:
        logger.info("host %s: domains of no VM here: %s", host.name, ", ".join(result.foreign))
    return result
