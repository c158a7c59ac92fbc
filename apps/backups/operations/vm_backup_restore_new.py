"""Restore a backup into a new VM (docs/backups.md, "Restore into a new VM"): the VM was
ordered like any other (apps.backups.restore_new: quotas, placement, addresses); its disk is
the backup's raw data (`restic dump`) turned into a qcow2, sent to its host and grown to its
size, instead of a copy of an image. The system on it is the backed-up one; the panel tells
it the new VM's name and network the way its image did: a cloud-init guest gets a seed with
a new instance id (cloud-init applies the hostname and network again and makes new SSH host
keys; passwords and keys stay as they were), another guest its hostname and static address
unit written offline (virt-customize). The VM is started when asked (`start`), not waited
for. A failure leaves the VM `failed` with nothing on the host, and the backup `ready`."""

import json

from apps.backups import restic
from apps.backups.models import Backup, BackupState
from apps.hosts.hypervisor import hypervisor_for
from apps.images.models import GuestConfig
from apps.ipam.allocation import addresses_of
from apps.ipam.guest import guest_network
from apps.jobs.runner import OperationError
from apps.virt import tools
from apps.virt.domain_xml import DUAL_STACK_FILTER
from apps.vms import cleanup, guest_config
from apps.vms.deploy import steps
from apps.vms.deploy.host_wait import host_for_deploy
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from apps.vms.signals import notify_vm_changed

STEPS = ["Choose a host", "Fetch the backup", "Configure the guest", "Put the disk on the host", "Define the VM",
         "Start the VM"]  # fmt: skip
STATIC_UNIT = "/etc/systemd/network/05-vmmanager-static.network"


def run(ctx, vm, backup_id, start=True, hostname="", host_pinned=True):
    backup = Backup.objects.select_related("repository").get(pk=backup_id)
    network = guest_network(addresses_of(vm))
    cloud_init = backup.guest_config == GuestConfig.CLOUD_INIT
    try:
        with ctx.step("Choose a host"):
            host = host_for_deploy(ctx, vm, {"host_pinned": host_pinned})
            ctx.note(f"{host.name} ({host.uri})")
        driver = hypervisor_for(host)
        local = steps.work_dir(ctx) / "disk.qcow2"
        with ctx.step("Fetch the backup"):
            raw = steps.work_dir(ctx) / "disk.raw"
            size = restic.dump_to_file(backup.repository, backup.restic_snapshot_id, backup.filename, raw)
            if backup.size_bytes is not None and size != backup.size_bytes:
                raise OperationError(f"the backup holds {size} bytes, not the {backup.size_bytes} it was taken with")
            tools.convert(raw, local, "raw", "qcow2")
            raw.unlink()
            ctx.note(
                f"{backup.vm_name}'s disk as it was at {backup.created_at:%Y-%m-%d %H:%M:%S} UTC "
                f"({size / 2**30:.2f} GiB, restic snapshot {backup.restic_snapshot_id[:8]})"
            )
        with ctx.step("Configure the guest"):
            steps.remove_disk(driver, vm)
            if cloud_init:
                configure_with_cloud_init(ctx, driver, vm, hostname, network)
            else:
                configure_offline(ctx, local, hostname, network)
        with ctx.step("Put the disk on the host"):
            disk = driver.upload_volume(host.storage_pool, vm.disk_volume, str(local), "qcow2")
            local.unlink()
            if disk.capacity_bytes < vm.disk_gb * 2**30:
                disk = driver.resize_volume(host.storage_pool, vm.disk_volume, vm.disk_gb * 2**30)
            ctx.note(f"{vm.disk_gb} GiB on {host.name}, a standalone qcow2 (no image under it)")
        with ctx.step("Define the VM"):
            seed = driver.volume_info(host.storage_pool, steps.seed_volume(vm)) if cloud_init else None
            spec = steps.domain_spec(vm, disk.path, seed.path if seed else None)
            if any(nic.filter == DUAL_STACK_FILTER for nic in spec.nics):
                driver.ensure_dual_stack_filter()
            driver.define(spec)
        with ctx.step("Start the VM"):
            if start:
                driver.start(vm.domain_name)
                ctx.note("started: the restored system boots as it was (not waited for)")
            else:
                ctx.note("left stopped, as asked")
    finally:
        steps.remove_work_dir(ctx)
    power = PowerState.RUNNING if start else PowerState.STOPPED
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.ACTIVE, power_state=power)
    notify_vm_changed(VirtualMachine.objects.get(pk=vm.pk))
    Backup.objects.filter(pk=backup.pk, state=BackupState.RESTORING).update(state=BackupState.READY)
    ctx.job.result = {"backup_id": backup.pk, "vm_id": vm.pk}


def configure_with_cloud_init(ctx, driver, vm, hostname, network):
    """A NoCloud seed with the new VM's instance id, hostname and network only (no password,
    no keys: the restored system keeps its own)."""
    config = {"hostname": hostname.split(".")[0], "fqdn": hostname, "disable_root": False}
    user_data = "#cloud-config\n" + json.dumps(config, indent=2) + "\n"
    meta_data = json.dumps({"instance-id": f"vmm-{vm.uuid}", "local-hostname": hostname}) + "\n"
    network_config = json.dumps(guest_config.network_config(network, vm.mac_address)) if network else None
    steps.upload_seed(ctx, driver, vm, user_data, meta_data, network_config)
    ctx.note("cloud-init seed with a new instance id: the hostname and network are set again at boot")


def configure_offline(ctx, disk, hostname, network):
    """The hostname, and the static address unit written (public addresses) or removed (DHCP)."""
    # Not virt-customize's --hostname: it goes through augeas (guest_config.customize_script).
    args = ["--run-command", "set -e\n" + guest_config.hostname_script(hostname)]
    if network:
        args += ["--write", f"{STATIC_UNIT}:{guest_config.static_network_unit(network)}"]
    else:
        args += ["--delete", STATIC_UNIT]
    tools.virt_customize(disk, args)
    where = "static address " + ", ".join(guest_config.addresses(network)) if network else "DHCP"
    ctx.note(f"hostname {hostname}, {where} (virt-customize)")


def on_failure(ctx, vm):
    steps.mark_failed(vm)
    steps.remove_work_dir(ctx)
    cleanup.remove_or_owe(ctx, vm)
    Backup.objects.filter(pk=ctx.params["backup_id"], state=BackupState.RESTORING).update(state=BackupState.READY)
