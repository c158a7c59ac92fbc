"""Warm pools (docs/warm-pool.md): per image and host, standby VMs deployed from the image
and booted ahead of orders, so that an order of that image takes one and is personalised
live (apps/vms/deploy/standby.py) instead of being deployed.

- Staff set pools up (`save_pool`, `delete_pool`: PermissionDenied for anyone else; bad
  input is a ValidationError naming the field). Both doors call these.
- A standby is an ordinary VM row owned by the panel's pool user (`pool_owner`, inactive,
  no reseller, no quota): no customer or reseller sees it (tenancy is by owner) and no
  quota counts it. Its row holds the pool's maximum sizes, so placement counts the room an
  order taking it may need; its domain runs with 1 vCPU and VMM_WARM_POOL_STANDBY_MEMORY_MB.
- `top_up(pool)` deploys standbys through the normal deploy job until the pool holds
  `size`, as long as placement finds room on the pool's host; it removes failed standbys
  and standbys of deleted pools. `top_up_all` is the django-q2 schedule's task (every
  minute, `manage.py bootstrap`); a take queues the pool's top-up once it commits.
- `take(...)` runs in the order's transaction (apps.vms.create): it locks a ready standby
  with SELECT ... FOR UPDATE SKIP LOCKED and claims it with a conditional UPDATE, so a
  standby is never handed to two orders.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from apps.accounts.models import Role, User
from apps.accounts.tenancy import is_staff_user
from apps.hosts.models import Host, HostStatus
from apps.images.models import GuestConfig, Image, ImageStatus
from apps.jobs import runner
from apps.vms import placement
from apps.vms.models import PowerState, VirtualMachine, VmStatus, WarmPool

logger = logging.getLogger(__name__)

POOL_USERNAME = "warm-pool"
FIELDS = {"size": (0, 50), "max_vcpus": (1, 64), "max_memory_mb": (256, 262144), "disk_gb": (1, 4096)}


def pool_owner():
    """The panel's own user that owns standby VMs: inactive (it cannot sign in), a customer
    of no reseller, without quota."""
    user = User.objects.filter(username=POOL_USERNAME).first()
    if user is None:
        user = User(username=POOL_USERNAME, role=Role.CUSTOMER, is_active=False)
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            user = User.objects.get(username=POOL_USERNAME)
    return user


def standby_params(pool):
    """The deploy job's parameters for a standby: no password (login locked), no keys, DHCP."""
    return {
        "hostname": "standby",
        "root_password_hash": "",
        "ssh_keys": [],
        "network": None,
        "first_boot_script": "",
        "timezone": "UTC",
        "full_copy": False,
        "host_pinned": True,
        "standby": {"vcpus": 1, "memory_mb": min(settings.VMM_WARM_POOL_STANDBY_MEMORY_MB, pool.max_memory_mb)},
    }


# --- staff: setting pools up ---------------------------------------------------------


def _require_staff(actor):
    if actor is not None and not is_staff_user(actor):
        raise PermissionDenied(_("Only the provider's staff may set warm pools up."))


def save_pool(actor, *, pool=None, image=None, host=None, **values):
    """Create (`pool` None: `image` and `host` required) or change a warm pool; queue its
    top-up once saved. Returns the pool."""
    _require_staff(actor)
    errors = {}
    if pool is None:
        image = _pick(Image.objects.all(), image)
        host = _pick(Host.objects.all(), host)
        if image is None:
            errors["image"] = _("No such image.")
        elif image.status != ImageStatus.READY:
            errors["image"] = _("The image is not ready.")
        elif image.guest_config != GuestConfig.CUSTOMIZE:
            errors["image"] = _(
                "Only images configured offline have warm pools: a cloud-init image applies its seed again at boot."
            )
        if host is None:
            errors["host"] = _("No such host.")
        if not errors and WarmPool.objects.filter(image=image, host=host).exists():
            errors["image"] = _("This image already has a warm pool on %(host)s.") % {"host": host.name}
    else:
        image = pool.image
    for field, (low, high) in FIELDS.items():
        value = values.get(field, getattr(pool, field, None) if pool is not None else None)
        if value is None and pool is None and field != "size":
            value = WarmPool._meta.get_field(field).default
        if field == "size" and value is None:
            value = 1
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[field] = _("Must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
        values[field] = value
    if "disk_gb" not in errors and image is not None and values["disk_gb"] * 2**30 < image.virtual_size_bytes:
        errors["disk_gb"] = _("The disk must be at least the image's size (%(size)d GiB).") % {
            "size": image.virtual_size_gb
        }
    if errors:
        raise ValidationError(errors)
    fields = {field: values[field] for field in FIELDS}
    with transaction.atomic():
        if pool is None:
            try:
                with transaction.atomic():
                    pool = WarmPool.objects.create(image=image, host=host, **fields)
            except IntegrityError as exc:
                raise ValidationError({"image": _("This image already has a warm pool on that host.")}) from exc
        else:
            for field, value in fields.items():
                setattr(pool, field, value)
            pool.save()
        queue_top_up(pool.pk)
    return pool


def delete_pool(actor, pool):
    """Delete `pool`; its standbys are deleted (now, or by the next top-up once their deploy ends)."""
    _require_staff(actor)
    with transaction.atomic():
        pool.delete()  # standbys keep their row (standby_of NULL): removed by remove_strays
        transaction.on_commit(remove_strays)


# --- keeping pools topped up ----------------------------------------------------------


def queue_top_up(pool_id):
    """Top the pool up once the transaction commits (a django-q2 task)."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task("apps.vms.warm_pool.top_up", pool_id, task_name=f"warm-pool-{pool_id}"))


def ready_standbys(pool):
    return pool.standbys.filter(status=VmStatus.ACTIVE, power_state=PowerState.RUNNING, current_job__isnull=True)


def top_up(pool_or_id):
    """Deploy standbys until the pool holds `size` (ready or deploying) while its host is
    online with room for one more at the pool's maximum sizes. Returns the deploy jobs."""
    pool = WarmPool.objects.filter(pk=getattr(pool_or_id, "pk", pool_or_id)).first()
    if pool is None:
        return []
    remove_strays()
    jobs = []
    for _attempt in range(pool.size):  # at most one round of deploys per call, even if they fail at once
        with transaction.atomic():
            pool = WarmPool.objects.select_for_update().select_related("image", "host").get(pk=pool.pk)
            held = (
                pool.standbys.filter(status__in=(VmStatus.CREATING, VmStatus.ACTIVE))
                .exclude(
                    status=VmStatus.ACTIVE, power_state__in=(PowerState.STOPPED, PowerState.CRASHED, PowerState.MISSING)
                )
                .count()
            )
            if held >= pool.size or pool.image.status != ImageStatus.READY:
                return jobs
            try:
                placement.choose_host(pool.max_vcpus, pool.max_memory_mb, pool.disk_gb, host=pool.host, lost_ok=False)
            except placement.NoCapacity as exc:
                logger.info("%s stays at %d of %d: %s", pool, held, pool.size, exc)
                return jobs
            jobs.append(_deploy_standby(pool))
    return jobs


def _deploy_standby(pool):
    from apps.vms.create import new_mac

    owner = pool_owner()
    vm = VirtualMachine(
        owner=owner,
        host=pool.host,
        image=pool.image,
        hostname="standby",
        mac_address=new_mac(),
        status=VmStatus.CREATING,
        vcpus=pool.max_vcpus,
        memory_mb=pool.max_memory_mb,
        disk_gb=pool.disk_gb,
        standby_of=pool,
    )
    vm.name = f"standby-{vm.uuid.hex[:12]}"
    vm.save()
    return runner.submit("vm_create", vm, params=standby_params(pool))


def remove_strays():
    """Delete the pool user's VMs that are no standby any more (their pool was deleted), whose
    deploy failed or that stopped running, unless a job holds them."""
    from apps.vms.changes import delete_vm

    owner = User.objects.filter(username=POOL_USERNAME).first()
    if owner is None:
        return
    deploying = Q(standby_of__isnull=False, status=VmStatus.CREATING)
    ready = Q(standby_of__isnull=False, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING)
    strays = VirtualMachine.objects.filter(owner=owner, current_job__isnull=True).exclude(deploying | ready)
    for vm in strays.exclude(status=VmStatus.DELETING):
        try:
            delete_vm(vm)
        except runner.TargetBusy:
            pass


def top_up_all():
    """The schedule's task: top every pool up."""
    for pool_id in WarmPool.objects.values_list("pk", flat=True):
        top_up(pool_id)
    remove_strays()


# --- orders taking a standby -----------------------------------------------------------


def order_matches(params):
    """Whether an order's options can be served by a standby: a linked clone (not a full
    copy), no first-boot script (the standby's first boot is over), no hand-typed network."""
    return not params.get("full_copy") and not params.get("first_boot_script") and not params.get("network")


def take(image, sizes, params, *, host=None, cluster=None):
    """Inside the order's transaction: claim a ready standby of `image` that serves `sizes`
    (vCPUs and memory at most the pool's maximums, disk at least the standby's) on `host`
    (staff pinned) or any online host (of `cluster`, when the order names one), whose host
    has room for the difference (placement's rules). Returns the standby (still the pool's
    row: the caller makes it the order's VM) or None."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take() must run inside transaction.atomic()")
    if image is None or not order_matches(params):
        return None
    pools = WarmPool.objects.filter(
        image=image,
        max_vcpus__gte=sizes["vcpus"],
        max_memory_mb__gte=sizes["memory_mb"],
        disk_gb__lte=sizes["disk_gb"],
        host__status=HostStatus.ONLINE,
    )
    if host is not None:
        pools = pools.filter(host=host)
    if cluster is not None:
        pools = pools.filter(host__cluster=cluster)
    ready = VirtualMachine.objects.filter(
        standby_of__in=pools,
        status=VmStatus.ACTIVE,
        power_state=PowerState.RUNNING,
        current_job__isnull=True,
        rescue_since__isnull=True,  # staff looking into one in rescue mode: not a customer's system
    )
    for standby in ready.select_for_update(skip_locked=True, of=("self",)).order_by("created_at")[:5]:
        chosen = Host.objects.select_for_update().get(pk=standby.host_id)
        room = placement.free(chosen)
        if any(room[field] + getattr(standby, field) < sizes[field] for field in ("vcpus", "memory_mb", "disk_gb")):
            continue
        claimed = VirtualMachine.objects.filter(
            pk=standby.pk, standby_of__isnull=False, current_job__isnull=True, status=VmStatus.ACTIVE
        ).update(standby_of=None)
        if claimed == 1:
            standby.host = chosen
            return standby
    return None


def _pick(queryset, value):
    from apps.vms.create import pick

    return pick(queryset, value)
