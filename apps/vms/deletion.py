"""What a VM's deletion takes with it besides its disk, registered by the apps above the VMs
(the VMs app names none of them): apps.backups registers the forgetting of the VM's backups,
which the `vm_delete` job runs when its owner chose not to keep them (`keep_backups` false,
docs/backups.md). Each registered function is called as `forget(ctx, vm)` inside the job's
step "Forget its backups", before anything is removed from the host (a failure there leaves
the VM as it was)."""

_forgetters = []


def register_forget(forget):
    """Call `forget(ctx, vm)` when a VM is deleted without keeping what it left. From AppConfig.ready()."""
    if forget not in _forgetters:
        _forgetters.append(forget)


def forget_left_behind(ctx, vm):
    for forget in _forgetters:
        forget(ctx, vm)
