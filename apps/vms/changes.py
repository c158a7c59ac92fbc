"""Changing an existing VM: the one place that decides whether a change may happen. Each
function takes the VM, the change and the acting user, checks tenancy, state and input,
reserves what it needs (quota, host room) and starts the operation as a job (runner.submit
claims the VM: a second change while one runs raises TargetBusy). Bad input raises
ValidationError keyed by field before any job exists; a VM the actor may not act on is
Http404, as if it did not exist. `actor=None` is the panel itself (console commands)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for
from apps.images.models import Image, Visibility
from apps.images.sharing import check_visibility
from apps.ipam.allocation import addresses_of, release
from apps.jobs import runner
from apps.vms import placement, quotas, validators
from apps.vms.create import NAME_RE, check_range, guest_params, pick
from apps.vms.lost_host import check_host_reachable
from apps.vms.models import VmStatus
from apps.vms.rescue import check_not_in_rescue
from apps.vms.services import vm_operation
from apps.vms.suspension import check_not_suspended

# The power operations, by the word both doors use for them.
POWER_OPERATIONS = {
    "start": "vm_start",
    "stop": "vm_stop",
    "reboot": "vm_reboot",
    "power-off": "vm_power_off",
    "suspend": "vm_suspend",
    "resume": "vm_resume",
}
SIZES = ("vcpus", "memory_mb", "disk_gb")
# What a VM suspended for non-payment may not do (apps/vms/suspension.py); stopping is fine.
REFUSED_WHILE_SUSPENDED = {"start", "reboot", "resume"}


def _check_actor(vm, actor):
    if actor is not None and not acts_for(actor, vm.owner):
        raise Http404("No such VM.")


def _submit(vm, kind, params, actor, request_id):
    _check_actor(vm, actor)
    return vm_operation(vm, kind, actor=actor, params=params, request_id=request_id)


def power_vm(vm, action, *, actor=None, request_id=None):
    """Start, stop, reboot, power off, suspend or resume `vm` (`action`: a key of
    POWER_OPERATIONS). Only an active VM takes power actions."""
    _check_actor(vm, actor)
    kind = POWER_OPERATIONS.get(action)
    if kind is None:
        raise ValidationError({"action": _("One of: %(values)s.") % {"values": ", ".join(POWER_OPERATIONS)}})
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM can be started, stopped or rebooted.")})
    if action in REFUSED_WHILE_SUSPENDED:
        check_not_suspended(vm)
    check_host_reachable(vm)
    return _submit(vm, kind, {}, actor, request_id)


def reinstall_vm(
    vm,
    *,
    image=None,
    password="",
    ssh_keys=(),
    hostname="",
    network=None,
    first_boot_script="",
    timezone="UTC",
    actor=None,
    request_id=None,
):
    """A new system on `vm` from `image` (an Image or its id; default: its current image),
    same name and address. The image must be one the VM's owner may use."""
    _check_actor(vm, actor)
    check_not_suspended(vm)
    check_host_reachable(vm)
    check_not_in_rescue(vm)
    image = vm.image if image is None or image == "" else pick(Image.objects.all(), image)
    errors = {}
    params = guest_params(
        errors,
        vm.owner,
        image,
        vm.disk_gb,
        hostname=hostname or vm.hostname or (vm.name if validators.HOSTNAME_RE.match(vm.name) else ""),
        password=password,
        ssh_keys=ssh_keys,
        network=network,
        first_boot_script=first_boot_script,
        timezone=timezone,
    )
    if not errors and network and addresses_of(vm):
        errors["network"] = _("This VM keeps its public addresses: give no address.")
    if errors:
        raise ValidationError(errors)
    params["image_id"] = image.pk
    return _submit(vm, "vm_reinstall", params, actor, request_id)


def reset_password(vm, password, *, actor=None, request_id=None):
    _check_actor(vm, actor)
    check_not_suspended(vm)
    check_host_reachable(vm)
    check_not_in_rescue(vm)
    try:
        validators.validate_root_password(password or "")
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM can have its password reset.")})
    return _submit(
        vm, "vm_reset_password", {"root_password_hash": validators.hash_root_password(password)}, actor, request_id
    )


def resize_vm(vm, *, vcpus=None, memory_mb=None, disk_gb=None, actor=None, request_id=None):
    """Grow or shrink vCPUs and memory, grow the disk (never shrink it), within the owner's
    quota and the host's room (both reserved in the transaction that starts the job)."""
    _check_actor(vm, actor)
    check_not_suspended(vm)
    check_host_reachable(vm)
    check_not_in_rescue(vm)
    errors = {}
    if vcpus is None and memory_mb is None and disk_gb is None:
        raise ValidationError(_("Give at least one of vcpus, memory_mb, disk_gb."), code="required")
    wanted = {"vcpus": vcpus or vm.vcpus, "memory_mb": memory_mb or vm.memory_mb, "disk_gb": disk_gb or vm.disk_gb}
    for field, value in wanted.items():
        check_range(errors, field, value)
    if "disk_gb" not in errors and wanted["disk_gb"] < vm.disk_gb:
        errors["disk_gb"] = _("Disks only grow: it is %(size)d GiB now.") % {"size": vm.disk_gb}
    if errors:
        raise ValidationError(errors)
    growth = {field: max(0, wanted[field] - getattr(vm, field)) for field in SIZES}
    with transaction.atomic():
        quotas.check_and_reserve(vm.owner, vms=0, **growth)
        # Lock the host row so two resizes cannot both take its last room.
        type(vm.host).objects.select_for_update().get(pk=vm.host_id)
        room = placement.free(vm.host)
        if any(wanted[field] - getattr(vm, field) > room[field] for field in SIZES):
            raise ValidationError({"host": _("Host %(host)s has no room for that size.") % {"host": vm.host.name}})
        return _submit(vm, "vm_resize", wanted, actor, request_id)


def make_image(vm, name, *, visibility=Visibility.PRIVATE, actor=None, request_id=None):
    """An image of `vm`'s disk for its owner; only staff may make it public."""
    _check_actor(vm, actor)
    check_not_in_rescue(vm)
    errors = {}
    if not name or not NAME_RE.match(name):
        errors["name"] = _("Use 1-64 letters, digits, dots, hyphens and underscores.")
    elif Image.objects.filter(owner=vm.owner, name=name).exists():
        errors["name"] = _("An image named %(name)r already exists.") % {"name": name}
    try:
        check_visibility(actor, visibility) if actor is not None else Visibility(visibility)
    except ValueError:
        errors["visibility"] = _("One of: %(values)s.") % {"values": ", ".join(Visibility.values)}
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if vm.status != VmStatus.ACTIVE:
        errors["vm"] = _("Only an active VM can be imaged.")
    elif vm.snapshots.exists():
        errors["vm"] = _("Delete the VM's snapshots first: an image is made from a disk without snapshots.")
    if errors:
        raise ValidationError(errors)
    check_host_reachable(vm)
    return _submit(vm, "vm_make_image", {"name": name, "visibility": visibility}, actor, request_id)


def delete_vm(vm, *, keep_backups=True, actor=None, request_id=None):
    """Delete `vm` and its disk: returns the vm_delete job, or None for a VM never placed
    (then only its row existed, and it is gone). `keep_backups` (default true: nothing is
    lost by default): its backups stay its owner's (listed as backups of deleted VMs,
    counted in max_backups); false: the job forgets them in their repositories first
    (docs/backups.md)."""
    _check_actor(vm, actor)
    if not isinstance(keep_backups, bool):
        raise ValidationError({"keep_backups": _("Give true or false.")})
    if vm.host_id is None:
        with transaction.atomic():
            release(vm)
            vm.delete()
        return None
    params = {"keep_backups": keep_backups}
    return runner.submit("vm_delete", vm, actor=actor, params=params, request_id=request_id)
