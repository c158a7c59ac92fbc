"""Ordering a new VM or a new system on one: everything a user can get wrong is refused
here, before any job starts, with a message naming the field. Then the VM row is placed on
a host and the deploy job is queued in the same transaction."""

import ipaddress
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.images.models import ImageStatus
from apps.images.selectors import can_use_image
from apps.jobs import runner
from apps.vms import placement, validators
from apps.vms.models import VirtualMachine, VmStatus

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
TIMEZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*\Z")
LIMITS = {"vcpus": (1, 64), "memory_mb": (256, 262144), "disk_gb": (1, 4096)}


def check_range(errors, field, value):
    low, high = LIMITS[field]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[field] = _("Must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}


def _check_network(errors, network):
    if not network:
        return None
    try:
        interface = ipaddress.IPv4Interface(network["address"])
        gateway = ipaddress.IPv4Address(network["gateway"])
        dns = [str(ipaddress.IPv4Address(d)) for d in network.get("dns") or [str(gateway)]]
    except (KeyError, TypeError, ValueError) as exc:
        errors["network"] = _("Give address (CIDR), gateway and optional dns as IPv4: %(error)s") % {"error": exc}
        return None
    if interface.network.prefixlen == 32 or gateway not in interface.network:
        errors["network"] = _("The gateway must be inside the address's network.")
        return None
    return {"address": str(interface), "gateway": str(gateway), "dns": dns}


def guest_params(errors, owner, image, disk_gb, *, hostname, password, ssh_keys, network, first_boot_script, timezone):
    """Check what the new system is told (image, hostname, password, keys, network, first
    boot script, time zone); record problems in `errors`; return the job's parameters
    (with the password's hash, never the password)."""
    try:
        validators.validate_hostname(hostname)
    except ValidationError as exc:
        errors["hostname"] = exc.messages[0]
    if image is None or not can_use_image(owner, image):
        errors["image"] = _("No such image.")
    elif image.status != ImageStatus.READY:
        errors["image"] = (
            _("The image is not ready yet: it is still being imported.")
            if image.status == ImageStatus.PENDING
            else _("The image is not ready: its import failed.")
        )
    elif "disk_gb" not in errors and disk_gb * 2**30 < image.virtual_size_bytes:
        errors["disk_gb"] = _("The disk must be at least the image's size (%(size)d GiB).") % {
            "size": image.virtual_size_gb
        }
    if not password and not ssh_keys:
        errors["password"] = _("Give a root password, an SSH key, or both.")
    if password:
        try:
            validators.validate_root_password(password)
        except ValidationError as exc:
            errors["password"] = exc.messages[0]
    for key in ssh_keys:
        try:
            validators.validate_ssh_key(key)
        except ValidationError as exc:
            errors["ssh_keys"] = exc.messages[0]
            break
    if len(first_boot_script or "") > 65536:
        errors["first_boot_script"] = _("At most 64 KiB.")
    network = _check_network(errors, network)
    if not timezone or not TIMEZONE_RE.match(timezone):
        errors["timezone"] = _("Use a zone name such as UTC or Europe/Amsterdam.")
    if errors:
        return None
    return {
        "hostname": hostname,
        "root_password_hash": validators.hash_root_password(password) if password else "",
        "ssh_keys": [key.strip() for key in ssh_keys],
        "network": network,
        "first_boot_script": first_boot_script or "",
        "timezone": timezone,
    }


def new_mac():
    """A locally administered address in QEMU's range, 52:54:00:xx:xx:xx."""
    return "52:54:00:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))


def create_vm(
    owner,
    *,
    name,
    image,
    vcpus,
    memory_mb,
    disk_gb,
    hostname="",
    password="",
    ssh_keys=(),
    network=None,
    first_boot_script="",
    timezone="UTC",
    host=None,
    full_copy=False,
    actor=None,
    request_id=None,
):
    """Validate, place and queue the deploy of a new VM for `owner`. Returns (vm, job).

    Raises ValidationError (dict keyed by field) for bad input, an unusable image or no
    host with capacity; nothing is created then."""
    errors = {}
    if not name or not NAME_RE.match(name):
        errors["name"] = _("Use 1-64 letters, digits, dots, hyphens and underscores, starting with a letter or digit.")
    elif VirtualMachine.objects.filter(owner=owner, name=name).exists():
        errors["name"] = _("You already have a VM named %(name)r.") % {"name": name}
    for field, value in (("vcpus", vcpus), ("memory_mb", memory_mb), ("disk_gb", disk_gb)):
        check_range(errors, field, value)
    hostname = hostname or (name if name and validators.HOSTNAME_RE.match(name) else "")
    params = guest_params(
        errors,
        owner,
        image,
        disk_gb,
        hostname=hostname,
        password=password,
        ssh_keys=ssh_keys,
        network=network,
        first_boot_script=first_boot_script,
        timezone=timezone,
    )
    if errors:
        raise ValidationError(errors)
    params["full_copy"] = bool(full_copy)
    with transaction.atomic():
        try:
            chosen = placement.choose_host(vcpus, memory_mb, disk_gb, host=host)
        except placement.NoCapacity as exc:
            raise ValidationError({"host": str(exc)}) from exc
        vm = VirtualMachine.objects.create(
            name=name,
            owner=owner,
            host=chosen,
            image=image,
            vcpus=vcpus,
            memory_mb=memory_mb,
            disk_gb=disk_gb,
            hostname=hostname,
            mac_address=new_mac(),
            status=VmStatus.CREATING,
        )
        job = runner.submit("vm_create", vm, actor=actor or owner, params=params, request_id=request_id)
    return vm, job
