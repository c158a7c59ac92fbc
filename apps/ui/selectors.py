"""Read-only queries behind the pages. Each runs a fixed number of queries whatever the
number of rows (list pages are tested for it)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Sum

from apps.jobs.models import JobStatus
from apps.jobs.selectors import visible_jobs
from apps.vms.models import VirtualMachine
from apps.vms.selectors import visible_vms

RESOURCES = ("vcpus", "memory_mb", "disk_gb")


def capacity(host):
    """What placement may hand out on `host`: what it reported times the overcommit ratios
    (the same arithmetic as apps.vms.placement.free, without its per-host query)."""
    return {
        "vcpus": int(host.cpus * settings.VMM_CPU_OVERCOMMIT),
        "memory_mb": int(host.memory_mb * settings.VMM_MEMORY_OVERCOMMIT),
        "disk_gb": int(host.disk_bytes / 2**30 * settings.VMM_DISK_OVERCOMMIT),
    }


@dataclass
class HostUsage:
    host: object
    used: dict
    capacity: dict
    vm_count: int = 0
    bars: list = field(default_factory=list)

    def __post_init__(self):
        self.bars = [(name, self.used[name], self.capacity[name]) for name in RESOURCES]

    @property
    def free(self):
        return {name: self.capacity[name] - self.used[name] for name in RESOURCES}


def host_usage(hosts):
    """[HostUsage] for `hosts` in order: allocation (sum of the VMs placed there) against
    capacity, in one grouped query."""
    hosts = list(hosts)
    totals = {
        row["host"]: row
        for row in VirtualMachine.objects.filter(host__in=hosts)
        .values("host")
        .annotate(vcpus=Sum("vcpus"), memory_mb=Sum("memory_mb"), disk_gb=Sum("disk_gb"), n=Count("id"))
        .order_by()
    }
    usages = []
    for host in hosts:
        row = totals.get(host.pk, {})
        used = {name: row.get(name) or 0 for name in RESOURCES}
        usages.append(HostUsage(host, used, capacity(host), row.get("n", 0)))
    return usages


def vm_counts(user):
    """{"total", "power": {state: n}, "status": {status: n}} for the VMs `user` may see."""
    rows = visible_vms(user).values("power_state", "status").annotate(n=Count("id")).order_by()
    power, status, total = {}, {}, 0
    for row in rows:
        power[row["power_state"]] = power.get(row["power_state"], 0) + row["n"]
        status[row["status"]] = status.get(row["status"], 0) + row["n"]
        total += row["n"]
    return {"total": total, "power": power, "status": status}


def active_job_count(user):
    return visible_jobs(user).filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).count()


def active_jobs(user, limit=10):
    return list(
        visible_jobs(user)
        .filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING))
        .select_related("actor")
        .order_by("-created_at")[:limit]
    )


def recent_failures(user, limit=8):
    return list(
        visible_jobs(user).filter(status=JobStatus.FAILED).select_related("actor").order_by("-created_at")[:limit]
    )
