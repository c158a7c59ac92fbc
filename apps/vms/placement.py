"""Choosing a host for a new VM: online, not in maintenance, with room for it, within one
cluster when asked (a VM stays in its cluster: docs/clusters.md).

Capacity is what the host reported (CPUs, memory, storage pool) times the overcommit
ratios; allocation is the sum of the VMs placed there and of those a migration or an
evacuation is moving there (their room is held from the moment the move is decided until it
ends, whichever way). Callers run this inside a transaction: the candidate hosts are locked
so two placements cannot both take the last room on a host."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.hosts.models import Host, HostStatus


class NoCapacity(Exception):
    pass


# The jobs that move a VM to another host: while one is the VM's current job, the VM's
# `moving_to` host holds its room (the migration's own check excludes it: `moving`).
MOVING_JOBS = ("vm_migrate", "host_evacuate")

RESOURCES = ("vcpus", "memory_mb", "disk_gb")


def capacity(host):
    """What placement may hand out on `host`: what it reported times the overcommit ratios."""
    return {
        "vcpus": int(host.cpus * settings.VMM_CPU_OVERCOMMIT),
        "memory_mb": int(host.memory_mb * settings.VMM_MEMORY_OVERCOMMIT),
        "disk_gb": int(host.disk_bytes / 2**30 * settings.VMM_DISK_OVERCOMMIT),
    }


def allocation(host, *, moving=None):
    """What the VMs on `host` take, and the VMs on their way there (module docstring);
    `moving` (a VM) left out."""
    totals = allocations([host], moving=moving)[host.pk]
    return {name: totals[name] for name in RESOURCES}


def hold_room(vm, host):
    """Hold `vm`'s room on `host` while it moves there (the caller's transaction has `host`
    locked, as `choose_host` leaves it, and claims the VM for the moving job); `None` lets
    go of any hold."""
    from apps.vms.models import VirtualMachine

    VirtualMachine.objects.filter(pk=vm.pk).update(moving_to=host)


def free(host, *, moving=None):
    return rooms([host], moving=moving)[host.pk]


def rooms(hosts, *, moving=None):
    """{host id: what placement may still hand out there} for `hosts`, in two queries."""
    used = allocations(hosts, moving=moving)
    result = {}
    for host in hosts:
        total = capacity(host)
        result[host.pk] = {name: total[name] - used[host.pk][name] for name in RESOURCES}
    return result


def allocations(hosts, *, moving=None):
    """{host id: {"vcpus", "memory_mb", "disk_gb", "vms", "standbys", "incoming"}} for
    `hosts`, in two grouped queries whatever their number: what the VMs placed there take and
    those on their way in (module docstring), `vms` counting the first (`standbys`: how many
    of them are warm pool standbys, docs/warm-pool.md), `incoming` the others (what the host
    pages and the API show); `moving` (a VM) left out."""
    from apps.vms.models import VirtualMachine

    ids = [host.pk for host in hosts]
    result = {pk: dict.fromkeys((*RESOURCES, "vms", "standbys", "incoming"), 0) for pk in ids}
    vms = VirtualMachine.objects.exclude(pk=moving.pk) if moving is not None else VirtualMachine.objects.all()
    sums = {name: Sum(name) for name in RESOURCES} | {"n": Count("pk")}
    standbys = {"standbys": Count("pk", filter=Q(standby_of__isnull=False))}
    placed = vms.filter(host__in=ids).values("host").annotate(**sums, **standbys)
    coming = vms.filter(moving_to__in=ids, current_job__kind__in=MOVING_JOBS).values("moving_to").annotate(**sums)
    for rows, key, count in ((placed, "host", "vms"), (coming, "moving_to", "incoming")):
        for row in rows.order_by():
            totals = result[row[key]]
            for name in RESOURCES:
                totals[name] += row[name] or 0
            totals[count] += row["n"]
            totals["standbys"] += row.get("standbys", 0)
    return result


def usable_q():
    """Hosts a new VM may be placed on: online ones, and those lost less than the outage
    window ago (a libvirtd restart: the deploy job waits for them, apps/vms/deploy/host_wait.py)."""
    recently = timezone.now() - timedelta(seconds=settings.VMM_HOST_OUTAGE_WINDOW)
    return Q(status=HostStatus.ONLINE) | Q(status=HostStatus.UNREACHABLE, updated_at__gte=recently)


def choose_host(vcpus, memory_mb, disk_gb, *, host=None, strategy=None, lost_ok=True, exclude=(), cluster=None):
    """Return the host for a VM of this size; lock it for the caller's transaction.

    `host` pins the choice (staff): it must still be online (or lost a moment ago) and have
    room; a host in maintenance takes no new VM, pinned or not (docs/migration.md).
    Hosts in `exclude` (host ids) are never chosen: the host a VM moves away from, hosts
    without the VM's network. With `cluster` (a Cluster), only its hosts are.
    Online hosts with room come first; with `lost_ok`, a host lost less than the
    outage window ago is chosen when no online host has room, so an order made during a
    libvirtd restart is not refused (its deploy waits for the host).
    Strategy `spread` picks the host with the most free memory, `fill` the one with the
    least that still fits. Raises NoCapacity with the reason."""
    strategy = strategy or settings.VMM_PLACEMENT
    usable = usable_q() if lost_ok else Q(status=HostStatus.ONLINE)
    hosts = Host.objects.select_for_update().filter(usable)
    if cluster is not None:
        hosts = hosts.filter(cluster=cluster)
    candidates = list(hosts.order_by("pk"))
    candidates = [h for h in candidates if h.pk not in exclude]
    if host is not None:
        candidates = [h for h in candidates if h.pk == host.pk]
        if cluster is not None and host.cluster_id != cluster.pk:
            raise NoCapacity(
                _("Host %(host)s is not in cluster %(cluster)s.") % {"host": host.name, "cluster": cluster.name}
            )
        if not candidates and Host.objects.filter(pk=host.pk, status=HostStatus.MAINTENANCE).exists():
            raise NoCapacity(_("Host %(host)s is in maintenance: it takes no new VMs.") % {"host": host.name})
        if not candidates:
            raise NoCapacity(_("Host %(host)s is not online.") % {"host": host.name})
    room = rooms(candidates)  # two queries for all of them
    fitting = [
        h
        for h in candidates
        if room[h.pk]["vcpus"] >= vcpus and room[h.pk]["memory_mb"] >= memory_mb and room[h.pk]["disk_gb"] >= disk_gb
    ]
    online = [h for h in fitting if h.status == HostStatus.ONLINE]
    fitting = online or fitting
    if not fitting:
        if host is not None:
            raise NoCapacity(
                _("Host %(host)s has no room for %(vcpus)d vCPU, %(memory)d MiB, %(disk)d GiB.")
                % {"host": host.name, "vcpus": vcpus, "memory": memory_mb, "disk": disk_gb}
            )
        if cluster is not None:
            raise NoCapacity(
                _("No online host of cluster %(cluster)s has room for %(vcpus)d vCPU, %(memory)d MiB and %(disk)d GiB.")
                % {"cluster": cluster.name, "vcpus": vcpus, "memory": memory_mb, "disk": disk_gb}
            )
        raise NoCapacity(
            _("No online host has room for %(vcpus)d vCPU, %(memory)d MiB and %(disk)d GiB.")
            % {"vcpus": vcpus, "memory": memory_mb, "disk": disk_gb}
        )
    key = lambda h: (room[h.pk]["memory_mb"], -h.pk)  # noqa: E731
    return max(fitting, key=key) if strategy == "spread" else min(fitting, key=key)
