"""The deploy pipeline shared by vm_create and vm_reinstall.

1. Choose a host          4. Configure the guest (and grow its root filesystem)
2. Copy the image         5. Put the disk on the host
3. Create the disk        6. Define and start the VM
                          7. Wait for the guest to come up
"""

import shutil
import time
from pathlib import Path

from django.conf import settings

from apps.hosts.hypervisor import hypervisor_for
from apps.images.hostcopy import ensure_on_host
from apps.images.models import GuestConfig
from apps.ipam.allocation import addresses_of, network_for_host
from apps.ipam.guest import guest_network, nic_for
from apps.jobs.runner import OperationError
from apps.virt import tools
from apps.virt.domain_xml import DUAL_STACK_FILTER
from apps.virt.errors import NotFound
from apps.virt.types import DiskSpec, DomainSpec, DomainState, NicSpec
from apps.vms import guest_config
from apps.vms.cleanup import panel_volumes
from apps.vms.consoles import vnc_password
from apps.vms.deploy import standby
from apps.vms.deploy.host_wait import host_for_deploy
from apps.vms.deploy.power import start_and_wait_for_agent, wait_for_boot_to_finish
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from apps.vms.signals import notify_vm_changed

CREATE_STEPS = [
    "Choose a host",
    "Copy the image to the host",
    "Create the disk",
    "Configure the guest",
    "Put the disk on the host",
    "Define and start the VM",
    "Wait for the guest to come up",
]


def seed_volume(vm):
    return f"vmm-{vm.uuid}-seed.iso"


def work_dir(ctx):
    path = Path(settings.VMM_WORK_DIR) / str(ctx.job.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


def deploy(ctx, vm, params):
    image = vm.image
    # Public addresses from pools (apps.ipam) are the VM's, kept across reinstalls: the
    # guest is told them statically, whatever the order said.
    public = guest_network(addresses_of(vm))
    if public is not None:
        params = {**params, "network": public}
    if params.get("warm_pool") and standby.take_over(ctx, vm, params):
        return
    try:
        with ctx.step("Choose a host"):
            host = host_for_deploy(ctx, vm, params)  # waits for a lost host, or moves an unpinned VM
            ctx.note(f"{host.name} ({host.uri})")
        driver = hypervisor_for(host)
        with ctx.step("Copy the image to the host"):
            copy = ensure_on_host(image, host, note=ctx.note)
        cloud_init = image.guest_config == GuestConfig.CLOUD_INIT
        size = vm.disk_gb * 2**30
        local = work_dir(ctx) / vm.disk_volume
        with ctx.step("Create the disk"):
            remove_disk(driver, vm)
            if cloud_init:
                driver.clone_volume_linked(host.storage_pool, vm.disk_volume, copy.path, size)
                ctx.note(f"linked clone of {image.name}, {vm.disk_gb} GiB, on {host.name}")
            else:
                # Made next to the image store and configured here, then sent to the host:
                # the same path for local and remote hosts, no SSH needed.
                tools.create_overlay(local, image.path, image.format, size)
                ctx.note(f"linked clone of {image.name}, {vm.disk_gb} GiB")
        with ctx.step("Configure the guest"):
            if cloud_init:
                configure_with_cloud_init(ctx, driver, vm, params)
            else:
                configure_offline(ctx, local, params)
        with ctx.step("Put the disk on the host"):
            if cloud_init:
                ctx.note("already there")
            else:
                put_disk_on_host(ctx, driver, vm, local, copy.path, image.format, params.get("full_copy"))
        with ctx.step("Define and start the VM"):
            disk = driver.volume_info(host.storage_pool, vm.disk_volume)
            seed = driver.volume_info(host.storage_pool, seed_volume(vm)) if cloud_init else None
            spec = domain_spec(vm, disk.path, seed.path if seed else None, current=params.get("standby"))
            if any(nic.filter == DUAL_STACK_FILTER for nic in spec.nics):
                driver.ensure_dual_stack_filter()
            driver.define(spec)
            old_leases = {}
            if driver.get_domain(vm.domain_name).state != DomainState.RUNNING:
                old_leases = driver.dhcp_lease_expiries(vm.domain_name)  # a reinstall's MAC keeps its lease
                driver.start(vm.domain_name)
        with ctx.step("Wait for the guest to come up"):
            agent_only = standby_on_managed_network(vm, params)
            addresses = wait_for_guest(ctx, driver, vm, old_leases, agent_only=agent_only)
            if params.get("standby"):
                start_and_wait_for_agent(ctx, vm)  # a standby is ready once it can be personalised,
                booted = wait_for_boot_to_finish(vm)  # and has finished booting (nothing left to slow it)
                ctx.note(f"standby of a warm pool: its guest agent answers, its boot is over ({booted}), ready")
    finally:
        remove_work_dir(ctx)
    mark_active(vm, addresses)


def mark_active(vm, addresses):
    VirtualMachine.objects.filter(pk=vm.pk).update(
        status=VmStatus.ACTIVE, power_state=PowerState.RUNNING, ip_addresses=addresses
    )
    notify_vm_changed(VirtualMachine.objects.get(pk=vm.pk))


def configure_offline(ctx, disk, params):
    first_boot = None
    if params.get("first_boot_script"):
        first_boot = disk.with_name("first-boot.sh")
        first_boot.write_text(params["first_boot_script"])
    started = time.monotonic()
    network = params.get("network")
    tools.virt_customize(disk, guest_config.customize_args(params, first_boot))
    ctx.note(
        f"hostname {params['hostname']}, root filesystem grown, "
        f"{'password set' if params.get('root_password_hash') else 'password login locked'}, "
        f"{len(params.get('ssh_keys') or [])} SSH key(s), "
        f"{'static address ' + ', '.join(guest_config.addresses(network)) if network else 'DHCP'} "
        f"({time.monotonic() - started:.1f}s with virt-customize)"
    )


def upload_seed(ctx, driver, vm, user_data, meta_data, network_config):
    """The VM's NoCloud seed made in the job's folder and put on its host (replacing one there)."""
    iso = work_dir(ctx) / seed_volume(vm)
    tools.make_seed_iso(iso, user_data, meta_data, network_config)
    try:
        driver.delete_volume(vm.host.storage_pool, seed_volume(vm))
    except NotFound:
        pass
    driver.upload_volume(vm.host.storage_pool, seed_volume(vm), str(iso), "raw")


def configure_with_cloud_init(ctx, driver, vm, params):
    upload_seed(ctx, driver, vm, *guest_config.cloud_init_seed(vm, params))
    ctx.note("cloud-init seed attached: hostname, password, keys and network are set at first boot")


def put_disk_on_host(ctx, driver, vm, local, base_path, base_format, full_copy):
    pool = vm.host.storage_pool
    # The host's copy is verified byte-identical to the image, so the overlay can point
    # at it without reading anything.
    tools.rebase_unsafe(local, base_path, base_format)
    if not full_copy:
        driver.upload_volume(pool, vm.disk_volume, str(local), "qcow2")
        ctx.note(f"{local.stat().st_size // 2**20} MiB of changes sent; the rest is shared with the image")
        return
    staging = f"vmm-{vm.uuid}-staging.qcow2"
    try:
        driver.delete_volume(pool, staging)
    except NotFound:
        pass
    driver.upload_volume(pool, staging, str(local), "qcow2")
    try:
        driver.copy_volume(pool, vm.disk_volume, pool, staging)
    finally:
        driver.delete_volume(pool, staging)
    ctx.note("full copy: the disk does not depend on the image")


def domain_spec(vm, disk_path, seed_path=None, current=None):
    """The VM's domain; with `current` ({"vcpus", "memory_mb"}: a warm pool's standby) the
    VM's sizes are the domain's maximums and these its current values."""
    host = vm.host
    disks = [DiskSpec(path=disk_path, format="qcow2", target="vda", bus="virtio")]
    if seed_path:
        disks.append(DiskSpec(path=seed_path, format="raw", target="hdc", bus="ide", readonly=True, device="cdrom"))
    public = nic_for(vm)
    if public is None and current is not None:
        public = standby_nic(vm)
    if public is not None:
        nics = (public,)
    else:
        nics = (NicSpec(network=host.network, mac=vm.mac_address or None),) if host.network else ()
    return DomainSpec(
        name=vm.domain_name,
        uuid=str(vm.uuid),
        domain_type=host.domain_type,
        vcpus=current["vcpus"] if current else vm.vcpus,
        memory_mb=current["memory_mb"] if current else vm.memory_mb,
        max_vcpus=vm.vcpus if current else None,
        max_memory_mb=vm.memory_mb if current else None,
        disks=tuple(disks),
        nics=nics,
        serial_log_path=f"/var/log/libvirt/qemu/{vm.domain_name}-serial.log",
        guest_agent=True,
        vnc_password=vnc_password(vm),  # the graphical console (docs/console.md)
        vnc_listen=host.vnc_listen,
        cpu_xml=host.cluster.cpu_xml or None,  # the cluster's baseline: the VM runs on each of its hosts
    )


def standby_nic(vm):
    """A standby's NIC on a host with a managed network (docs/addresses.md): on that network,
    without addresses yet (the order's are bound when it is taken), or None."""
    network = network_for_host(vm.host)
    if network is None:
        return None
    bridge = None if network.libvirt_network else network.bridge
    return NicSpec(network=network.libvirt_network or None, bridge=bridge, mac=vm.mac_address or None)


def standby_on_managed_network(vm, params):
    """A standby on a managed network gets no DHCP address: its agent answering is "up"."""
    return bool(params.get("standby")) and network_for_host(vm.host) is not None


def wait_for_guest(ctx, driver, vm, old_leases, agent_only=False):
    """Wait until the guest has an address (or, with no network or `agent_only`: a standby
    on a network without DHCP, its agent answers). A lease held from before the start
    (`old_leases`, {MAC: expiry}: the system a reinstall replaced) does not count until the
    new system has asked for it again, which moves its expiry."""
    deadline = time.monotonic() + settings.VMM_BOOT_TIMEOUT
    started = time.monotonic()
    agent_up = False
    while time.monotonic() < deadline:
        if driver.get_domain(vm.domain_name).state not in (DomainState.RUNNING, DomainState.BLOCKED):
            raise OperationError("The VM stopped while booting: see its console log.")
        addresses = driver.interface_addresses(vm.domain_name)
        if addresses and old_leases and driver.dhcp_lease_expiries(vm.domain_name) == old_leases:
            addresses = []  # the old system's lease, not asked for again yet
        if addresses:
            ctx.note(f"up after {time.monotonic() - started:.0f}s at {', '.join(addresses)}")
            return addresses
        if agent_only or not spec_has_network(vm):
            agent_up = agent_up or driver.agent_ready(vm.domain_name)
            if agent_up:
                ctx.note(f"up after {time.monotonic() - started:.0f}s (no network: guest agent answers)")
                return []
        time.sleep(1)
    raise OperationError(f"The guest did not come up within {settings.VMM_BOOT_TIMEOUT} s.")


def spec_has_network(vm):
    return bool(vm.host.network) or bool(addresses_of(vm))


def remove_disk(driver, vm):
    for volume in panel_volumes(vm.uuid):
        try:
            driver.delete_volume(vm.host.storage_pool, volume)
        except NotFound:
            pass


def remove_work_dir(ctx):
    shutil.rmtree(Path(settings.VMM_WORK_DIR) / str(ctx.job.pk), ignore_errors=True)


def mark_failed(vm):
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.FAILED, power_state=PowerState.MISSING)
    notify_vm_changed(VirtualMachine.objects.get(pk=vm.pk))
