"""Moving a VM to another host (docs/migration.md): the one door for staff,
`migrate_vm(vm, host=None, actor=staff)`, and the rules the evacuation of a host shares.

A stopped VM moves cold, a running one live (its guest keeps running; the job needs the
same virtualization type and storage path on both hosts). The target is the host staff name
(by id or name) or, without one, the host placement chooses among the online hosts of the
VM's cluster with room that carry the VM's network. A VM stays in its cluster (its CPU is
the cluster's baseline, docs/clusters.md). The job `vm_migrate` (apps/vms/migrate_work.py)
copies the VM's own disk layer there on top of the target's copy of its image (live: with
the memory, by libvirt), with its snapshots' layers, switches the VM's host and removes it
from the source.

Refused (ValidationError, keyed by field): `vm`: not active, its host unreachable (use the
recovery), neither running nor stopped (paused, crashed, unknown), without an image (a VM
with snapshots moves with them: its disk's layers go one by one); `host`: no such host, the
VM's own host, a host of another cluster, a host in maintenance or not online, no room
there, a host that does not carry the VM's network (its addresses would not reach it), and
no host at all when staff named none. Not staff: PermissionDenied; not visible:
Http404. A VM busy with another job: runner.TargetBusy, as for every change."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for, is_staff_user
from apps.hosts.models import Host, HostStatus
from apps.ipam.allocation import addresses_of
from apps.jobs import runner
from apps.vms import placement
from apps.vms.lost_host import check_host_reachable
from apps.vms.models import PowerState, VmStatus
from apps.vms.rescue import check_not_in_rescue


def may_migrate(user, vm):
    """Whether to show the Migrate button: staff, on an active VM whose host answers."""
    return is_staff_user(user) and vm.status == VmStatus.ACTIVE and not vm.host_unreachable


def check_movable(vm):
    """Refuse (ValidationError on `vm`) a VM that cannot be cold-migrated as it is now."""
    if vm.status != VmStatus.ACTIVE or vm.host_id is None:
        raise ValidationError({"vm": ValidationError(_("Only an active VM can be migrated."), code="invalid_state")})
    check_host_reachable(vm)
    check_not_in_rescue(vm)
    if vm.power_state not in (PowerState.STOPPED, PowerState.RUNNING):
        message = _("Only a running or stopped VM is migrated: start or stop it first.")
        raise ValidationError({"vm": ValidationError(message, code="invalid_state")})
    if vm.image_id is None:
        message = _("This VM has no image: its disk has no base to copy it onto.")
        raise ValidationError({"vm": ValidationError(message, code="no_image")})


def network_problem(vm, host):
    """Why `vm` would lose its network on `host` (a message), or None: the network of its
    pool addresses must be carried by `host`; a VM on its host's network needs one there."""
    addresses = addresses_of(vm)
    if addresses:
        network = addresses[0].pool.network
        if not network.hosts.filter(pk=host.pk).exists():
            return _("Host %(host)s does not carry network %(network)s of the VM's addresses.") % {
                "host": host.name,
                "network": network.name,
            }
        return None
    if vm.host.network and not host.network:
        return _("Host %(host)s has no network: the VM would lose its interface.") % {"host": host.name}
    return None


def cluster_problem(vm, host):
    """Why `vm` may not move to `host` for its cluster (a message), or None."""
    if host.cluster_id == vm.host.cluster_id:
        return None
    return _(
        "Host %(host)s is in cluster %(target)s, the VM in cluster %(cluster)s: a VM moves only within its "
        "cluster (its CPU and setup are the cluster's)."
    ) % {"host": host.name, "target": host.cluster.name, "cluster": vm.host.cluster.name}


def choose_target(vm, host=None):
    """The host `vm` moves to (locked for the caller's transaction): `host` (a Host, its id
    or name) checked, or the one placement chooses. Raises ValidationError on `host`."""
    if host is not None and host != "":
        target = _host(host)
        if target.pk == vm.host_id:
            message = _("The VM is already on host %(host)s.") % {"host": target.name}
            raise ValidationError({"host": ValidationError(message, code="same_host")})
        problem = cluster_problem(vm, target) or network_problem(vm, target)
        if problem:
            code = "cluster" if target.cluster_id != vm.host.cluster_id else "network"
            raise ValidationError({"host": ValidationError(problem, code=code)})
        try:
            return placement.choose_host(vm.vcpus, vm.memory_mb, vm.disk_gb, host=target, lost_ok=False)
        except placement.NoCapacity as exc:
            raise ValidationError({"host": ValidationError(str(exc), code="no_capacity")}) from exc
    cluster = vm.host.cluster
    without = {vm.host_id}
    for other in Host.objects.filter(status=HostStatus.ONLINE, cluster=cluster).exclude(pk=vm.host_id):
        if network_problem(vm, other):
            without.add(other.pk)
    try:
        return placement.choose_host(
            vm.vcpus, vm.memory_mb, vm.disk_gb, lost_ok=False, exclude=without, cluster=cluster
        )
    except placement.NoCapacity as exc:
        message = _(
            "No other online host of cluster %(cluster)s with the VM's network has room for "
            "%(vcpus)d vCPU, %(memory)d MiB and %(disk)d GiB."
        ) % {"cluster": cluster.name, "vcpus": vm.vcpus, "memory": vm.memory_mb, "disk": vm.disk_gb}
        raise ValidationError({"host": ValidationError(message, code="no_capacity")}) from exc


def _host(value):
    if isinstance(value, Host):
        return value
    key = str(value).strip()
    found = Host.objects.filter(pk=int(key)).first() if key.isdigit() and len(key) < 19 else None
    found = found or Host.objects.filter(name=key).first()
    if found is None:
        raise ValidationError({"host": ValidationError(_("No such host."), code="does_not_exist")})
    return found


def migrate_vm(vm, *, host=None, actor=None, request_id=None):
    """Move the stopped `vm` to `host` (or the host placement chooses): returns the
    vm_migrate job (module docstring)."""
    if actor is not None and not acts_for(actor, vm.owner):
        raise Http404("No such VM.")
    if actor is not None and not is_staff_user(actor):
        raise PermissionDenied(_("Only staff may move a VM to another host."))
    check_movable(vm)
    with transaction.atomic():
        target = choose_target(vm, host)
        job = runner.submit(
            "vm_migrate",
            vm,
            actor=actor,
            params={"target_host_id": target.pk, "target_pinned": host is not None and host != ""},
            request_id=request_id,
        )
        placement.hold_room(vm, target)  # until the job ends: no order takes the room meanwhile
        return job
