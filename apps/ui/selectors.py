"""Read-only queries behind the pages. Each runs a fixed number of queries whatever the
number of rows (list pages are tested for it)."""

from dataclasses import dataclass, field

from django.db.models import Count

from apps.jobs.models import JobStatus
from apps.jobs.selectors import visible_jobs
from apps.vms.placement import RESOURCES, allocations, capacity
from apps.vms.selectors import visible_vms


@dataclass
class HostUsage:
    host: object
    used: dict
    capacity: dict
    vm_count: int = 0
    incoming: int = 0  # VMs on their way in (counted in `used`)
    standbys: int = 0  # warm pool standbys placed there (counted in `used` and `vm_count`)
    bars: list = field(default_factory=list)

    def __post_init__(self):
        self.bars = [(name, self.used[name], self.capacity[name]) for name in RESOURCES]

    @property
    def free(self):
        return {name: self.capacity[name] - self.used[name] for name in RESOURCES}


def host_usage(hosts):
    """[HostUsage] for `hosts` in order: allocation (the VMs placed there and those a
    migration or an evacuation is moving there, as placement counts them) against capacity,
    in a fixed number of queries."""
    hosts = list(hosts)
    totals = allocations(hosts)
    usages = []
    for host in hosts:
        row = totals[host.pk]
        used = {name: row[name] for name in RESOURCES}
        usages.append(
            HostUsage(
                host, used, capacity(host), vm_count=row["vms"], incoming=row["incoming"], standbys=row["standbys"]
            )
        )
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
