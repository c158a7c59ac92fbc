"""Ordering a new VM or a new system on one: the one place that decides whether an order
may happen. Everything a user can get wrong (input, tenancy, role, quota, image state) is
refused here, before any job starts, with a message naming the field; both doors (API and
web UI) call `create_vm`. The quota is reserved, the VM placed on a host and the deploy
job queued in one transaction."""

import ipaddress
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.plans import Plan
from apps.accounts.sshkeys import SshKey
from apps.accounts.tenancy import is_staff_user, visible_users
from apps.hosts.models import Cluster, Host
from apps.images.models import Image, ImageStatus
from apps.images.selectors import can_use_image
from apps.ipam import allocation
from apps.jobs import runner
from apps.vms import placement, quotas, validators, warm_pool
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
    if image is None or (owner is not None and not can_use_image(owner, image)):
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
    owner=None,
    *,
    name,
    image,
    vcpus=None,
    memory_mb=None,
    disk_gb=None,
    plan=None,
    hostname="",
    password="",
    ssh_keys=(),
    saved_key_ids=(),
    network=None,
    first_boot_script="",
    timezone="UTC",
    host=None,
    cluster=None,
    full_copy=False,
    actor=None,
    request_id=None,
):
    """Order a new VM: check everything, reserve the quota, place it and queue its deploy,
    all in one transaction. Returns (vm, job).

    `actor` is the user ordering (None only for the panel itself: console commands, tests);
    `owner` (default: the actor) must be a user the actor acts for. `image`, `plan`, `host`
    and `owner` are model instances or primary keys; `plan` gives the sizes not given;
    `saved_key_ids` are the owner's saved SSH keys to install; only staff pin the `host` or
    the `cluster` (a Cluster or its id: placement chooses among its hosts; docs/clusters.md).
    Raises ValidationError keyed by field (codes: invalid, required, does_not_exist,
    forbidden, unique, quota_exceeded); nothing is created then."""
    errors = {}
    owner = _owner(errors, actor, owner)
    if owner is not None and owner.suspended_at is not None:
        raise ValidationError({"owner": _("This account is suspended: it cannot order VMs.")}, code="suspended")
    image = pick(Image.objects.all(), image)
    sizes, plan = _sizes(errors, plan, {"vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb})
    host = _pinned_host(errors, actor, host)
    cluster = _chosen_cluster(errors, actor, cluster)
    if owner is not None:
        ssh_keys = [*ssh_keys, *_saved_keys(errors, owner, saved_key_ids)]
    if not name or not NAME_RE.match(name):
        errors["name"] = _("Use 1-64 letters, digits, dots, hyphens and underscores, starting with a letter or digit.")
    elif owner is not None and VirtualMachine.objects.filter(owner=owner, name=name).exists():
        errors["name"] = _name_taken(name)
    hostname = hostname or (name if name and validators.HOSTNAME_RE.match(name) else "")
    params = guest_params(
        errors,
        owner,
        image,
        sizes.get("disk_gb") or 0,
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
    params["host_pinned"] = host is not None  # an unpinned deploy may move to another host
    try:
        with transaction.atomic():
            quotas.check_and_reserve(owner, sizes["vcpus"], sizes["memory_mb"], sizes["disk_gb"])
            standby = warm_pool.take(image, sizes, params, host=host, cluster=cluster)  # docs/warm-pool.md
            if standby is not None:
                order = {"name": name, "owner": owner, "hostname": hostname, "plan": plan, **sizes}
                vm, chosen = _from_standby(standby, params, **order)
            else:
                chosen = _choose_host(sizes, host, cluster)
                vm = VirtualMachine.objects.create(
                    name=name,
                    owner=owner,
                    host=chosen,
                    image=image,
                    hostname=hostname,
                    mac_address=new_mac(),
                    status=VmStatus.CREATING,
                    plan=plan,
                    **sizes,
                )
            _assign_addresses(vm, chosen, owner, params)
            ordered(vm)
            job = runner.submit("vm_create", vm, actor=actor or owner, params=params, request_id=request_id)
            if standby is not None:
                warm_pool.queue_top_up(params["warm_pool"]["pool"])  # after the order's job, once committed
    except IntegrityError as exc:
        # Two orders for the same name at once: the database's unique constraint decided.
        if not VirtualMachine.objects.filter(owner=owner, name=name).exists():
            raise
        raise ValidationError({"name": ValidationError(_name_taken(name), code="unique")}) from exc
    return vm, job


# Called with each new VM inside its order's transaction (apps above the VMs register here:
# apps.backups gives a VM of a plan with a backup schedule its own schedule).
_order_hooks = []


def register_order_hook(hook):
    """Call `hook(vm)` for every VM ordered, in the order's transaction. From AppConfig.ready()."""
    if hook not in _order_hooks:
        _order_hooks.append(hook)


def ordered(vm):
    for hook in _order_hooks:
        hook(vm)


def order_vm_from_disk(
    owner, *, name, kind, params, image=None, min_disk_bytes=0, vcpus=None, memory_mb=None, disk_gb=None, plan=None,
    hostname="", host=None, cluster=None, actor=None, request_id=None,
):  # fmt: skip
    """Order a new VM whose disk does not come from an image (a backup's: apps.backups): the
    same rules as `create_vm` for the owner, name, sizes or plan, host and cluster (staff),
    the quota, placement and public addresses, and a disk of at least `min_disk_bytes`; the
    job `kind` (with `params`, the hostname and `host_pinned` added) fills the disk. `image`:
    the image the disk once came from, recorded as the VM's (None: unknown). Returns
    (vm, job); raises ValidationError keyed by field, nothing made then."""
    errors = {}
    owner = _owner(errors, actor, owner)
    if owner is not None and owner.suspended_at is not None:
        raise ValidationError({"owner": _("This account is suspended: it cannot order VMs.")}, code="suspended")
    given = {"vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb}
    if disk_gb is None and (plan is None or plan == ""):
        given["disk_gb"] = max(1, -(-min_disk_bytes // 2**30))
    sizes, plan = _sizes(errors, plan, given)
    if "disk_gb" not in errors and "disk_gb" in sizes and sizes["disk_gb"] * 2**30 < min_disk_bytes:
        errors["disk_gb"] = _("The disk must be at least the backup's size (%(size)d GiB).") % {
            "size": -(-min_disk_bytes // 2**30)
        }
    host = _pinned_host(errors, actor, host)
    cluster = _chosen_cluster(errors, actor, cluster)
    if not name or not NAME_RE.match(name):
        errors["name"] = _("Use 1-64 letters, digits, dots, hyphens and underscores, starting with a letter or digit.")
    elif owner is not None and VirtualMachine.objects.filter(owner=owner, name=name).exists():
        errors["name"] = _name_taken(name)
    hostname = hostname or (name if name and validators.HOSTNAME_RE.match(name) else "")
    try:
        validators.validate_hostname(hostname)
    except ValidationError as exc:
        errors["hostname"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    params = {**params, "hostname": hostname, "host_pinned": host is not None}
    try:
        with transaction.atomic():
            quotas.check_and_reserve(owner, sizes["vcpus"], sizes["memory_mb"], sizes["disk_gb"])
            chosen = _choose_host(sizes, host, cluster)
            vm = VirtualMachine.objects.create(
                name=name, owner=owner, host=chosen, image=image, hostname=hostname, mac_address=new_mac(),
                status=VmStatus.CREATING, plan=plan, **sizes,
            )  # fmt: skip
            _assign_addresses(vm, chosen, owner, params)
            ordered(vm)
            job = runner.submit(kind, vm, actor=actor or owner, params=params, request_id=request_id)
    except IntegrityError as exc:
        if not VirtualMachine.objects.filter(owner=owner, name=name).exists():
            raise
        raise ValidationError({"name": ValidationError(_name_taken(name), code="unique")}) from exc
    return vm, job


def _from_standby(standby, params, **fields):
    """Make the standby a warm pool handed over (apps.vms.warm_pool.take) the order's VM; note
    in the job's parameters what it was, for the live personalisation. Returns (vm, its host)."""
    params["warm_pool"] = {"pool": standby.standby_of_id, "disk_gb": standby.disk_gb}
    vm = VirtualMachine.objects.get(pk=standby.pk)
    fields.update(status=VmStatus.CREATING, standby_of=None, created_at=timezone.now())
    for field, value in fields.items():
        setattr(vm, field, value)
    vm.save()  # an update in the audit log: the standby became this order's VM
    return vm, standby.host


def _assign_addresses(vm, host, owner, params):
    """Public addresses from the pools of the network `host` carries (docs/addresses.md),
    within the owner's address quota. A hand-typed address is for hosts without one."""
    if params.get("network") and allocation.network_for_host(host) is not None:
        raise ValidationError(
            {"network": _("Host %(host)s hands out addresses from its pools: give none.") % {"host": host.name}}
        )
    taken = allocation.assign_for_order(vm, host)
    if taken and owner is not None:
        quotas.check_and_reserve(owner, 0, 0, 0, vms=0, addresses=len(taken))


def _name_taken(name):
    return _("You already have a VM named %(name)r.") % {"name": name}


def pick(queryset, value):
    """The row of `queryset` that `value` (an instance or a primary key) names, or None."""
    if value is None or value == "":
        return None
    pk = getattr(value, "pk", value)
    if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63:
        return None
    return queryset.filter(pk=pk).first()


def _owner(errors, actor, owner):
    if owner is None or owner == "":
        return actor if actor is not None else None
    if actor is None:
        return owner
    found = pick(visible_users(actor), owner)
    if found is None:
        errors["owner"] = ValidationError(_("No such user."), code="does_not_exist")
    return found


def _sizes(errors, plan, given):
    """The order's sizes (those given, the rest from `plan`; each checked against LIMITS) and
    the plan found (None if none was asked for or it does not exist)."""
    sizes = {field: value for field, value in given.items() if value is not None}
    found = None
    if plan is not None and plan != "":
        found = pick(Plan.objects.filter(is_active=True), plan)
        if found is None:
            errors["plan"] = ValidationError(_("No such plan."), code="does_not_exist")
        else:
            for field in given:
                sizes.setdefault(field, getattr(found, field))
    for field in given:
        if field not in sizes:
            if "plan" not in errors:
                errors[field] = ValidationError(_("Give this size or a plan."), code="required")
        else:
            check_range(errors, field, sizes[field])
    return sizes, found


def _pinned_host(errors, actor, host):
    if host is None or host == "":
        return None
    if actor is not None and not is_staff_user(actor):
        errors["host"] = ValidationError(_("Only staff may choose the host."), code="forbidden")
        return None
    found = pick(Host.objects.all(), host)
    if found is None:
        errors["host"] = ValidationError(_("No such host."), code="does_not_exist")
    return found


def _chosen_cluster(errors, actor, cluster):
    if cluster is None or cluster == "":
        return None
    if actor is not None and not is_staff_user(actor):
        errors["cluster"] = ValidationError(_("Only staff may choose the cluster."), code="forbidden")
        return None
    found = pick(Cluster.objects.all(), cluster)
    if found is None:
        errors["cluster"] = ValidationError(_("No such cluster."), code="does_not_exist")
    return found


def _saved_keys(errors, owner, ids):
    ids = list(ids or ())
    saved = {}
    valid = [pk for pk in ids if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < 2**63]
    if valid:
        saved = dict(SshKey.objects.filter(owner=owner, pk__in=valid).values_list("pk", "public_key"))
    if set(ids) - set(saved):
        errors["ssh_key_ids"] = ValidationError(_("No such saved key."), code="does_not_exist")
        return []
    return [saved[pk] for pk in ids]


def _choose_host(sizes, host, cluster):
    """The host for an order of `sizes` (placement.choose_host), or a ValidationError on the
    field the order named: `cluster` when it named only a cluster, else `host`."""
    try:
        return placement.choose_host(sizes["vcpus"], sizes["memory_mb"], sizes["disk_gb"], host=host, cluster=cluster)
    except placement.NoCapacity as exc:
        field = "cluster" if cluster is not None and host is None else "host"
        raise ValidationError({field: str(exc)}) from exc
