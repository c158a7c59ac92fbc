"""What the backup jobs share (apps/backups/operations): the scratch volumes they make in the
VM's pool (named with the VM's prefix, so deleting the VM removes a leftover, and each
backup job of the VM first removes what an earlier one could not), and the local work folder."""

from apps.virt.errors import VirtError
from apps.vms import snapshot_work


def scratch_volume(ctx, vm, kind):
    """This job's scratch volume: `vmm-<uuid>-<kind>-<job>.qcow2` (kind `backup` or `restore`)."""
    return f"vmm-{vm.uuid}-{kind}-{ctx.job.pk.hex[:12]}.qcow2"


def remove_leftovers(driver, vm):
    """Remove the VM's scratch volumes earlier backup jobs left (a host that did not answer
    when they failed). Returns how many went."""
    prefixes = (f"vmm-{vm.uuid}-backup-", f"vmm-{vm.uuid}-restore-")
    driver.refresh_pool(vm.host.storage_pool)
    names = [volume.name for volume in driver.list_volumes(vm.host.storage_pool) if volume.name.startswith(prefixes)]
    return snapshot_work.delete_volumes(driver, vm, names)


def remove_quietly(driver, vm, name):
    """Delete the VM's pool volume `name` in a clean-up: a host that does not answer leaves it
    to the next job."""
    try:
        driver.refresh_pool(vm.host.storage_pool)
        snapshot_work.delete_volumes(driver, vm, [name])
    except VirtError:
        pass
