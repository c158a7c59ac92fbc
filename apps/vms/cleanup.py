"""Removing a VM from its host, and never losing that clean-up when the host does not answer.

Contract:
- `panel_volumes(uuid)`: the names of the volumes the panel makes for every VM in its host's
  pool (`vmm-<uuid>-disk0.qcow2`, `-seed.iso`, `-staging.qcow2`); `vm_volumes(vm, driver)`
  adds the VM's snapshot overlays (`vmm-<uuid>-snap-*.qcow2`, docs/snapshots.md).
- `remove_domain_and_volumes(driver, pool, domain, volumes)`: power off and undefine the
  domain, delete the volumes; whatever is already gone is fine. Returns the domain's state
  before (None if there was no domain). Raises the driver's other errors.
- `remove_from_host(vm)`: the above for a VM on its host; on success every clean-up owed
  for the VM on that host is settled (it is all gone now; what another host, one the VM
  was recovered from, is owed stays owed).
- `remove_or_owe(ctx, vm)`: for operations' `on_failure`: `remove_from_host`, and if the
  host cannot be reached (or refuses), an `OwedCleanup` row records what is owed instead of
  the clean-up being logged and forgotten. Never raises for the hypervisor's trouble.
- `settle_owed(host, driver)`: carry out what is owed to `host` (the watcher's
  reconciliation calls it after (re)connecting and periodically; `settle_owed_everywhere`
  is the jobs reconciler's hook). Idempotent; a VM a job holds is left to the job, a VM
  deployed again since is not touched; a VM that now lives on another host has its old copy
  removed. Raises `Unreachable` (after recording the attempt).
- `owe(ctx, vm, host, reason)`: record such a debt without trying (a host known lost).
"""

import logging

from django.db import transaction
from django.utils import timezone

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.virt.errors import NotFound, Unreachable, VirtError
from apps.virt.types import INACTIVE_STATES
from apps.vms.models import OwedCleanup, VirtualMachine, VmStatus
from apps.vms.snapshot_work import volumes_of

logger = logging.getLogger("vmmanager.vms")

VOLUME_SUFFIXES = ("disk0.qcow2", "seed.iso", "staging.qcow2", "rescue-kernel", "rescue-initrd")
# VMs in these states own nothing on the host any more: what is left of them may go.
REMOVABLE = (VmStatus.FAILED, VmStatus.DELETING)


def panel_volumes(uuid):
    return [f"vmm-{uuid}-{suffix}" for suffix in VOLUME_SUFFIXES]


def vm_volumes(vm, driver=None):
    """Every volume of `vm`: panel_volumes and its snapshots' overlays (with `driver`, also
    those a failed job left in the pool)."""
    return panel_volumes(vm.uuid) + volumes_of(vm, driver)


def remove_domain_and_volumes(driver, pool, domain, volumes):
    """Remove `domain` (powered off first) and `volumes` of `pool`; returns the domain's
    state before, or None when there was none."""
    state = None
    try:
        state = driver.get_domain(domain).state
        if state not in INACTIVE_STATES:
            driver.destroy(domain)
        driver.undefine(domain)
    except NotFound:
        pass
    for volume in volumes:
        try:
            driver.delete_volume(pool, volume)
        except NotFound:
            pass
    return state


def remove_from_host(vm):
    """Remove the VM's domain and volumes from its host; what is already gone is fine."""
    vm = VirtualMachine.objects.select_related("host").get(pk=vm.pk)
    if vm.host is None:
        return
    driver = hypervisor_for(vm.host)
    remove_domain_and_volumes(driver, vm.host.storage_pool, vm.domain_name, vm_volumes(vm, driver))
    # Only what was owed on this host: a VM recovered from a lost host still owes that one.
    settled = OwedCleanup.objects.filter(vm=vm, host=vm.host, done_at__isnull=True).update(
        done_at=timezone.now(), outcome="removed with the VM"
    )
    if settled:
        logger.info("clean-up owed for %s settled: removed from %s", vm.domain_name, vm.host.name)


def owe(ctx, vm, host, reason):
    """Record that `vm`'s domain and volumes on `host` are to be removed once it answers."""
    return OwedCleanup.objects.create(
        host=host, vm=vm, domain_name=vm.domain_name, volumes=vm_volumes(vm), job=ctx.job, reason=reason
    )


def remove_or_owe(ctx, vm):
    """`remove_from_host(vm)`; if the host cannot do it now, record the debt (module docstring)."""
    try:
        remove_from_host(vm)
    except VirtError as exc:
        vm = VirtualMachine.objects.select_related("host").get(pk=vm.pk)
        debt = owe(ctx, vm, vm.host, str(exc))
        logger.warning(
            "job %s: could not remove %s from %s (%s): clean-up owed (#%s), done when the host is back",
            ctx.job.pk,
            vm.domain_name,
            vm.host.name,
            exc,
            debt.pk,
        )
        return debt
    return None


def settle_owed(host, driver):
    """Carry out the clean-ups owed to `host`. Returns how many were settled."""
    settled = 0
    for pk in OwedCleanup.objects.filter(host=host, done_at__isnull=True).values_list("pk", flat=True):
        settled += _settle(host, driver, pk)
    return settled


def _settle(host, driver, pk):
    unreachable = None
    with transaction.atomic():
        # Locked: the watcher and the jobs reconciler may both try; one does it.
        debt = OwedCleanup.objects.select_for_update(skip_locked=True).filter(pk=pk, done_at__isnull=True).first()
        if debt is None:
            return 0
        if debt.vm_id is not None:
            # Locked too: a job submitted meanwhile (reinstall, delete) waits for this to end.
            vm = VirtualMachine.objects.select_for_update().filter(pk=debt.vm_id).first()
            # A VM that lives on another host now (recovered from this lost host, or a deploy
            # moved away) owns nothing here: its old copy goes, whatever the VM is doing
            # there, so that it never runs beside the new one (docs/outages.md).
            elsewhere = vm is not None and vm.host_id != host.pk
            if vm is not None and not elsewhere and vm.current_job_id is not None:
                return 0  # the job's business: a reinstall or delete removes it and settles
            if vm is not None and not elsewhere and vm.status not in REMOVABLE:
                _done(debt, f"not needed: the VM is {vm.status} on host {vm.host_id} since")
                return 1
        now = timezone.now()
        debt.attempted_at, debt.attempts = now, debt.attempts + 1
        try:
            state = remove_domain_and_volumes(driver, host.storage_pool, debt.domain_name, debt.volumes)
        except VirtError as exc:
            debt.last_error = str(exc)
            debt.save(update_fields=["attempted_at", "attempts", "last_error"])
            logger.warning("host %s: clean-up of %s failed again: %s", host.name, debt.domain_name, exc)
            if not isinstance(exc, Unreachable):
                return 0
            unreachable = exc
        else:
            _done(debt, "removed" if state else "already gone")
            logger.warning("host %s: owed clean-up of %s done (%s)", host.name, debt.domain_name, debt.outcome)
            return 1
    raise unreachable


def _done(debt, outcome):
    debt.done_at = timezone.now()
    debt.outcome = outcome[:255]
    debt.save(update_fields=["done_at", "outcome", "attempted_at", "attempts", "last_error"])


def settle_owed_everywhere():
    """The jobs reconciler's hook: settle what is owed to every online host. Hosts that do
    not answer are skipped (the watcher marks them). Returns how many were settled."""
    settled = 0
    hosts = Host.objects.filter(status=HostStatus.ONLINE, owed_cleanups__done_at__isnull=True).distinct()
    for host in hosts:
        try:
            settled += settle_owed(host, hypervisor_for(host))
        except VirtError as exc:
            logger.warning("host %s: owed clean-ups wait: %s", host.name, exc)
    return settled
