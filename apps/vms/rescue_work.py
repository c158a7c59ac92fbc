"""The work of rescue mode (apps.vms.rescue decides whether it may happen; the operations
vm_rescue and vm_unrescue call these). docs/rescue.md.

Entering: the rescue system's kernel and initramfs (with the owner's saved SSH keys added) are
copied into the VM's host pool as two volumes of the VM's own (`vmm-<uuid>-rescue-kernel`,
`-rescue-initrd`: removed with the VM),
the VM is shut down, and its persistent domain is defined to boot them (libvirt's direct
kernel boot) with everything else as it was: its disk is the rescue system's /dev/vda, its
NIC keeps its MAC and filter, and its public addresses are handed to the rescue system on the
kernel's command line. `rescue_since` is set once that definition is in place, so a failure
after it leaves a VM in rescue mode, stopped, that can be started or taken out of rescue.
Leaving: the rescue system is shut down (ACPI: it syncs and unmounts), the domain is defined
without the direct boot, `rescue_since` is cleared, the volumes removed and the VM started."""

import tempfile
from pathlib import Path

from django.utils import timezone

from apps.accounts.sshkeys import SshKey
from apps.hosts.hypervisor import hypervisor_for
from apps.ipam.allocation import addresses_of
from apps.ipam.guest import guest_network
from apps.jobs.runner import OperationError
from apps.virt.domain_xml import with_direct_boot, without_direct_boot
from apps.virt.errors import NotFound
from apps.vms.deploy.power import stop_if_running
from apps.vms.models import VirtualMachine
from apps.vms.rescue import rescue_files
from apps.vms.rescue_initrd import write_initrd

COPY = "Copy the rescue system to the host"
SHUT_DOWN = "Shut down the guest"
BOOT_RESCUE = "Boot the rescue system"
SHUT_DOWN_RESCUE = "Shut down the rescue system"
BOOT_OWN = "Boot the VM's own system"
# The consoles the panel offers (serial and VNC) both get the kernel's messages and a shell.
CMDLINE = "console=tty0 console=ttyS0,115200 panic=-1"


def rescue_volumes(uuid):
    return [f"vmm-{uuid}-rescue-kernel", f"vmm-{uuid}-rescue-initrd"]


def cmdline(vm):
    """The rescue kernel's command line: the consoles, and the VM's public addresses with
    their gateways and name servers (`vmm_rescue.ip=a/p,b/q vmm_rescue.gw=g4,g6
    vmm_rescue.dns=d`; without them the rescue system asks DHCP, as on a host's own network)."""
    parts = [CMDLINE]
    network = guest_network(addresses_of(vm))
    if network:
        parts.append("vmm_rescue.ip=" + ",".join(network["addresses"]))
        gateways = [g for g in (network["gateway"], network["gateway6"]) if g]
        if gateways:
            parts.append("vmm_rescue.gw=" + ",".join(gateways))
        if network["dns"]:
            parts.append("vmm_rescue.dns=" + ",".join(network["dns"]))
    return " ".join(parts)


def copy_to_host(ctx, vm):
    """Upload the rescue system into the host's pool afresh, its initramfs carrying the VM
    owner's saved SSH keys for root (apps.vms.rescue_initrd); its two paths there."""
    files = rescue_files()
    if files is None:
        raise OperationError("The panel has no rescue system (VMM_RESCUE_KERNEL, VMM_RESCUE_INITRD).")
    keys = list(SshKey.objects.filter(owner_id=vm.owner_id).order_by("pk").values_list("public_key", flat=True))
    driver = hypervisor_for(vm.host)
    pool = vm.host.storage_pool
    paths, sent = [], 0
    with tempfile.TemporaryDirectory(prefix="vmm-rescue-") as work:
        kernel, initrd = files
        if keys:
            initrd = Path(work) / "initrd.img"
            write_initrd(files[1], keys, initrd)
        for volume, local in zip(rescue_volumes(vm.uuid), (kernel, initrd), strict=True):
            _remove(driver, pool, volume)
            paths.append(driver.upload_volume(pool, volume, str(local), "raw").path)
            sent += local.stat().st_size
    ctx.note(f"{sent / 2**20:.1f} MiB sent")
    ctx.note(
        f"SSH for root with the owner's {len(keys)} saved key(s)" if keys else "no saved SSH key: the consoles only"
    )
    return paths


def boot_rescue(ctx, vm, kernel, initrd):
    driver = hypervisor_for(vm.host)
    persistent = driver.domain_xml(vm.domain_name, inactive=True)
    driver.define(with_direct_boot(persistent, kernel, initrd, cmdline(vm)))
    VirtualMachine.objects.filter(pk=vm.pk).update(rescue_since=timezone.now())
    driver.start(vm.domain_name)
    ctx.note("the VM's disk is /dev/vda in the rescue system: open the console")


def shut_down(ctx, vm):
    """Shut the VM (its own system, or the rescue system) down if it runs."""
    if not stop_if_running(ctx, vm):
        ctx.note("already stopped")


def boot_own(ctx, vm):
    driver = hypervisor_for(vm.host)
    own = without_direct_boot(driver.domain_xml(vm.domain_name, inactive=True))
    if own is not None:
        driver.define(own)
    VirtualMachine.objects.filter(pk=vm.pk).update(rescue_since=None)
    for volume in rescue_volumes(vm.uuid):
        _remove(driver, vm.host.storage_pool, volume)
    vm.refresh_from_db(fields=["suspended_at"])
    if vm.suspended_at is not None:
        ctx.note("the VM is suspended: left stopped")
        return
    driver.start(vm.domain_name)


def _remove(driver, pool, volume):
    try:
        driver.delete_volume(pool, volume)
    except NotFound:
        pass
