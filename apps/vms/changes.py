"""Changing an existing VM: each function checks the request, then starts the operation as
a job (runner.submit claims the VM: a second change while one runs raises TargetBusy).
Bad input raises ValidationError keyed by field before any job exists."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.images.models import Image, Visibility
from apps.jobs import runner
from apps.vms import placement, validators
from apps.vms.create import NAME_RE, check_range, guest_params
from apps.vms.models import VmStatus
from apps.vms.services import vm_operation


def _submit(vm, kind, params, actor, request_id):
    return vm_operation(vm, kind, actor=actor, params=params, request_id=request_id)


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
    """A new system on `vm` from `image` (default: its current image), same name and address."""
    image = image or vm.image
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
    if errors:
        raise ValidationError(errors)
    params["image_id"] = image.pk
    return _submit(vm, "vm_reinstall", params, actor, request_id)


def reset_password(vm, password, *, actor=None, request_id=None):
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
    """Grow or shrink vCPUs and memory, grow the disk (never shrink it), within the host's room."""
    errors = {}
    vcpus, memory_mb, disk_gb = vcpus or vm.vcpus, memory_mb or vm.memory_mb, disk_gb or vm.disk_gb
    for field, value in (("vcpus", vcpus), ("memory_mb", memory_mb), ("disk_gb", disk_gb)):
        check_range(errors, field, value)
    if "disk_gb" not in errors and disk_gb < vm.disk_gb:
        errors["disk_gb"] = _("Disks only grow: it is %(size)d GiB now.") % {"size": vm.disk_gb}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Lock the host row so two resizes cannot both take its last room.
        type(vm.host).objects.select_for_update().get(pk=vm.host_id)
        room = placement.free(vm.host)
        if (
            vcpus - vm.vcpus > room["vcpus"]
            or memory_mb - vm.memory_mb > room["memory_mb"]
            or disk_gb - vm.disk_gb > room["disk_gb"]
        ):
            raise ValidationError({"host": _("Host %(host)s has no room for that size.") % {"host": vm.host.name}})
        return _submit(vm, "vm_resize", {"vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb}, actor, request_id)


def make_image(vm, name, *, visibility=Visibility.PRIVATE, actor=None, request_id=None):
    """An image of `vm`'s disk for its owner; only staff may make it public."""
    errors = {}
    if not name or not NAME_RE.match(name):
        errors["name"] = _("Use 1-64 letters, digits, dots, hyphens and underscores.")
    elif Image.objects.filter(owner=vm.owner, name=name).exists():
        errors["name"] = _("An image named %(name)r already exists.") % {"name": name}
    if visibility not in Visibility.values:
        errors["visibility"] = _("One of: %(values)s.") % {"values": ", ".join(Visibility.values)}
    elif visibility == Visibility.PUBLIC and not (actor and (actor.is_superuser or actor.role == "admin")):
        errors["visibility"] = _("Only staff can make an image public.")
    if vm.status != VmStatus.ACTIVE:
        errors["vm"] = _("Only an active VM can be imaged.")
    if errors:
        raise ValidationError(errors)
    return _submit(vm, "vm_make_image", {"name": name, "visibility": visibility}, actor, request_id)


def delete_vm(vm, *, actor=None, request_id=None):
    if vm.host_id is None:
        # Never placed: nothing exists anywhere but the row.
        vm.delete()
        return None
    return runner.submit("vm_delete", vm, actor=actor, request_id=request_id)
