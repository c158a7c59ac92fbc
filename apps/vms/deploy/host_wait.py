"""The "Choose a host" step of a deploy: a host that is briefly lost is waited for.

Contract of `host_for_deploy(ctx, vm, params)`: returns the online host the deploy goes
to (the VM's, or another one it was moved to) and sets `vm.host` to it.
- The VM's host is online: it is used at once.
- It is unreachable (the watcher lost it, maybe for a few seconds while libvirtd
  restarts): the step polls the host's status every second for up to
  `VMM_HOST_OUTAGE_WINDOW` seconds and goes on as soon as the watcher has it online
  again, noting how long it waited.
- A deploy whose host was not pinned by staff (`params["host_pinned"]` is False; orders
  queued before the flag existed, and reinstalls, count as pinned) does not wait: if
  placement finds another online host with room, the VM moves there (noted in the step).
  Otherwise it waits as above, asking placement again at every poll.
- A host in maintenance is not waited for (staff decided, and for how long is unknown);
  an unpinned deploy still moves.
- Still not online after the window (or in maintenance): `OperationError` saying which
  host, what it is, how long it waited and why ("Host h is unreachable (waited 60 s): <reason>").
"""

import time

from django.conf import settings
from django.db import transaction

from apps.hosts.models import Host, HostStatus
from apps.jobs.runner import OperationError
from apps.vms import placement
from apps.vms.models import VirtualMachine
from apps.vms.signals import notify_vm_changed

POLL = 1.0


def host_for_deploy(ctx, vm, params):
    window = settings.VMM_HOST_OUTAGE_WINDOW
    pinned = params.get("host_pinned", True)
    started = time.monotonic()
    while True:
        host = Host.objects.get(pk=vm.host_id)
        if host.status == HostStatus.ONLINE:
            waited = time.monotonic() - started
            if waited >= POLL:
                ctx.note(f"waited {waited:.0f} s for {host.name} to be online again")
            vm.host = host
            return host
        if not pinned:
            moved = _move_to_another_host(vm, host)
            if moved is not None:
                ctx.note(f"{host.name} is {_state(host)}: placed on {moved.name} instead")
                return moved
        waited = time.monotonic() - started
        if host.status != HostStatus.UNREACHABLE or waited >= window:
            why = f": {host.status_reason}" if host.status_reason else ""
            after = f" (waited {waited:.0f} s)" if waited >= POLL else ""
            raise OperationError(f"Host {host.name} is {_state(host)}{after}{why}")
        time.sleep(min(POLL, window - waited))


def _state(host):
    return "in maintenance" if host.status == HostStatus.MAINTENANCE else host.get_status_display().lower()


def _move_to_another_host(vm, lost):
    """Place `vm` again, on any online host of the lost host's cluster with room (a VM stays
    in its cluster); the new host, or None if none has room."""
    with transaction.atomic():
        try:
            chosen = placement.choose_host(vm.vcpus, vm.memory_mb, vm.disk_gb, lost_ok=False, cluster=lost.cluster)
        except placement.NoCapacity:
            return None
        VirtualMachine.objects.filter(pk=vm.pk, host=lost).update(host=chosen)
    vm.host = chosen
    notify_vm_changed(VirtualMachine.objects.get(pk=vm.pk))
    return chosen
