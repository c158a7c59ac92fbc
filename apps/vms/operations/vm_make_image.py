"""Make an OS image from a VM: its disk, flattened onto the image it came from, sealed with
virt-sysprep (machine id, SSH host keys, logs and root's keys removed) and registered as
the owner's private image. The VM is stopped for a consistent copy and started again if it
was running."""

from apps.hosts.hypervisor import hypervisor_for
from apps.images.models import Visibility
from apps.images.services import import_image_file
from apps.virt import tools
from apps.vms.deploy.power import stop_if_running
from apps.vms.deploy.steps import remove_work_dir, work_dir

STEPS = ["Stop the VM", "Copy the disk", "Seal the image", "Register the image", "Start the VM again"]


def run(ctx, vm, name, visibility=Visibility.PRIVATE):
    driver = hypervisor_for(vm.host)
    work = work_dir(ctx)
    try:
        with ctx.step("Stop the VM"):
            was_running = stop_if_running(ctx, vm)
        with ctx.step("Copy the disk"):
            disk = driver.volume_info(vm.host.storage_pool, vm.disk_volume)
            top = work / "disk.qcow2"
            driver.download_volume(vm.host.storage_pool, vm.disk_volume, str(top))
            if disk.backing_path:
                # Only the VM's changes came over; its base is the image in our store.
                tools.rebase_unsafe(top, vm.image.path, vm.image.format)
            template = work / "template.qcow2"
            tools.flatten(top, template, compress=True)
            top.unlink()
            ctx.note(f"{template.stat().st_size // 2**20} MiB compressed")
        with ctx.step("Seal the image"):
            tools.virt_sysprep(template)
        with ctx.step("Register the image"):
            image = import_image_file(
                template,
                name=name,
                os_family=vm.image.os_family if vm.image else "linux",
                os_version=vm.image.os_version if vm.image else "",
                guest_config=vm.image.guest_config if vm.image else "customize",
                owner=vm.owner,
                visibility=visibility,
                move=True,
            )
            ctx.job.result = {"image_id": image.pk}
            ctx.note(f"image {image.name} (#{image.pk})")
        with ctx.step("Start the VM again"):
            if was_running:
                driver.start(vm.domain_name)
            else:
                ctx.note("left stopped, as it was")
    finally:
        remove_work_dir(ctx)
