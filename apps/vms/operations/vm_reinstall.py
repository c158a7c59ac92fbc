"""Reinstall: a new OS on the same VM (same name, UUID, host and MAC, so the same address).
The old domain and disk are removed first; then the deploy pipeline runs as for a new VM.
`image_id` picks another image (default: the current one)."""

from apps.images.models import Image
from apps.vms import cleanup
from apps.vms.deploy import steps
from apps.vms.models import Snapshot, VirtualMachine, VmStatus

STEPS = ["Remove the old system", *steps.CREATE_STEPS]


def run(ctx, vm, image_id=None, **params):
    if image_id is not None and image_id != vm.image_id:
        vm.image = Image.objects.get(pk=image_id)
        VirtualMachine.objects.filter(pk=vm.pk).update(image=vm.image)
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.CREATING, ip_addresses=[])
    with ctx.step("Remove the old system"):
        cleanup.remove_from_host(vm)
        dropped, _kinds = Snapshot.objects.filter(vm=vm).delete()
        if dropped:
            ctx.note(f"{dropped} snapshot(s) dropped with the old system")
    steps.deploy(ctx, vm, params)


def on_failure(ctx, vm):
    # Failed first: if the host cannot be reached for the clean-up, the VM still says so,
    # and the clean-up is recorded as owed, done once the host is back (apps.vms.cleanup).
    steps.mark_failed(vm)
    steps.remove_work_dir(ctx)
    cleanup.remove_or_owe(ctx, vm)
