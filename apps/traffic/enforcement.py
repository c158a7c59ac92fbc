"""The minute's traffic round (the jobs reconciler's housekeeping, docs/traffic.md):

1. `sync`: copy this month's and last month's totals from the statistics tables
   (apps.stats.traffic) into TrafficPeriod rows, the only traffic figures pages, the API
   and the checks below read. If the statistics database does not answer in time the
   round stops here (the figures stay as they were; nothing else waits for it).
2. `lift_past`: a limit applied in an earlier month is lifted (the new month).
3. `enforce`: for each active VM whose plan has a limit, this month: at 80 % of it the
   warning (e-mail `traffic_warning`, optional; webhook `traffic.warning`), at 100 % the
   limit (e-mail `traffic_limit`; webhook `traffic.limit_reached`) and the plan's action:
   a vm_traffic_throttle job, or the VM suspended (apps.vms.suspension) with the reason
   TRAFFIC_REASON. Each happens once per VM and month (a stamp set by a conditional
   UPDATE); an action the VM could not take now (busy) is tried again next minute.
4. `reapply_throttles`: a throttled VM whose domain was redefined since (a resize or a
   reinstall writes a new definition, without the <bandwidth>) is throttled again.
"""

import logging
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

from apps.jobs.models import Job
from apps.jobs.runner import TargetBusy
from apps.notices.mail import notify
from apps.stats import traffic as counted
from apps.stats.models import TrafficMonth
from apps.traffic.models import WARN_AT, TrafficPeriod
from apps.traffic.services import lift_traffic_limit, plan_limit
from apps.vms.models import VirtualMachine, VmStatus
from apps.vms.services import vm_operation
from apps.vms.suspension import suspend_vm
from apps.webhooks.events import emit
from apps.webhooks.receivers import vm_data

logger = logging.getLogger("vmmanager.traffic")

TRAFFIC_REASON = "Monthly traffic limit reached"
# Operations that define the domain anew (without the interface's <bandwidth>).
REDEFINING = ("vm_resize", "vm_reinstall")
DEFAULT_MBIT = 10
STATS_TIMEOUT_MS = 5000


def housekeeping(now=None):
    now = now or timezone.now()
    try:
        sync(now)
    except DatabaseError:
        logger.warning("traffic: the statistics database did not answer; limits are checked next minute")
        return
    lift_past(now)
    enforce(now)
    reapply_throttles(now)


def _months(now):
    month = counted.month_of(now)
    previous = counted.month_of(counted.month_start(month) - timedelta(days=1))
    return [previous, month]


def _totals(months):
    """The statistics tables' totals of `months`, waiting at most STATS_TIMEOUT_MS for them
    (a collector holding a lock, a slow statistics database) on PostgreSQL."""
    database = router.db_for_read(TrafficMonth)
    if connections[database].vendor != "postgresql":
        return counted.totals(months)
    with transaction.atomic(using=database), connections[database].cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(STATS_TIMEOUT_MS)])
        found = counted.totals(months)
        # Within an outer transaction (a caller's, a test's) the setting would outlive this block.
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
        return found


def sync(now):
    """Copy the totals of last month and this one into TrafficPeriod rows."""
    totals = _totals(_months(now))
    if not totals:
        return 0
    limits = {
        pk: (gb * 2**30 if gb else None)
        for pk, gb in VirtualMachine.objects.filter(pk__in={vm for vm, _m in totals}).values_list(
            "pk", "plan__traffic_limit_gb"
        )
    }
    rows = [
        TrafficPeriod(vm_id=vm, month=month, rx_bytes=rx, tx_bytes=tx, synced_at=now, limit_bytes=limits[vm])
        for (vm, month), (rx, tx) in totals.items()
        if vm in limits
    ]
    TrafficPeriod.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["vm", "month"],
        update_fields=["rx_bytes", "tx_bytes", "synced_at", "limit_bytes"],
        batch_size=1000,
    )
    return len(rows)


def lift_past(now):
    """Lift every limit still applied from an earlier month."""
    month = counted.month_of(now)
    lifted = []
    for period in TrafficPeriod.objects.filter(month__lt=month, applied_at__isnull=False, lifted_at__isnull=True):
        try:
            lift_traffic_limit(period.vm, actor=None, now=now, month=period.month)
            lifted.append(period.pk)
        except (TargetBusy, ValidationError) as exc:
            logger.info("traffic: lifting %s waits: %s", period, exc)
    return lifted


def enforce(now):
    """Warn, limit and act for this month (see the module docstring)."""
    month = counted.month_of(now)
    vms = list(
        VirtualMachine.objects.filter(plan__traffic_limit_gb__isnull=False, status=VmStatus.ACTIVE)
        .select_related("plan", "owner", "host")
        .order_by("pk")
    )
    periods = {p.vm_id: p for p in TrafficPeriod.objects.filter(month=month, vm_id__in=[vm.pk for vm in vms])}
    for vm in vms:
        period = periods.get(vm.pk)
        if period is None or period.lifted_at is not None:
            continue  # nothing transferred yet this month, or staff lifted the limit
        limit, action = plan_limit(vm)
        try:
            if period.used_bytes >= WARN_AT * limit:
                _once(period, "warned_at", now, _warn, vm, limit)
            if period.used_bytes >= limit:
                _once(period, "reached_at", now, _reached, vm, limit, action)
                if period.applied_at is None:
                    _apply(vm, period, action, now)
        except Exception:  # noqa: BLE001 - one VM's trouble must not stop the others
            logger.exception("traffic: checking %s failed", vm.name)


def _once(period, stamp, now, then, vm, *args):
    """Set `stamp` if no one has; run `then(vm, period, *args)` (in the same transaction)
    only if we did."""
    if getattr(period, stamp) is not None:
        return
    with transaction.atomic():
        if TrafficPeriod.objects.filter(pk=period.pk, **{f"{stamp}__isnull": True}).update(**{stamp: now}):
            setattr(period, stamp, now)
            then(vm, period, *args)


def _data(vm, period, limit):
    return {
        **vm_data(vm),
        "traffic": {
            "month": period.month.strftime("%Y-%m"),
            "rx_bytes": period.rx_bytes,
            "tx_bytes": period.tx_bytes,
            "used_bytes": period.used_bytes,
            "limit_bytes": limit,
        },
    }


def _notice_context(vm, period, limit):
    return {
        "vm_name": vm.name,
        "month": period.month.strftime("%Y-%m"),
        "used_gib": f"{period.used_bytes / 2**30:.1f}",
        "limit_gib": f"{limit / 2**30:.0f}",
    }


def _warn(vm, period, limit):
    key = f"traffic.warning:{vm.pk}:{period.month:%Y-%m}"
    emit("traffic.warning", vm.owner, _data(vm, period, limit), subject=f"vm:{vm.pk}", key=key)
    notify(vm.owner, "traffic_warning", **_notice_context(vm, period, limit))


def _reached(vm, period, limit, action):
    key = f"traffic.limit_reached:{vm.pk}:{period.month:%Y-%m}"
    data = {**_data(vm, period, limit), "action": action}
    emit("traffic.limit_reached", vm.owner, data, subject=f"vm:{vm.pk}", key=key)
    mbit = vm.plan.traffic_throttle_mbit if vm.plan else None
    notify(vm.owner, "traffic_limit", action=action, mbit=mbit, **_notice_context(vm, period, limit))


def _apply(vm, period, action, now):
    """Throttle or suspend; a VM busy with another operation is tried again next minute."""
    try:
        with transaction.atomic():
            if action == "suspend":
                suspend_vm(vm, reason=TRAFFIC_REASON, actor=None)
                vm.refresh_from_db(fields=["suspended_at", "suspension_reason"])
                ours = vm.suspension_reason == TRAFFIC_REASON
                suspended_at = vm.suspended_at if ours else None
            else:
                vm_operation(vm, "vm_traffic_throttle", params={"mbit": vm.plan.traffic_throttle_mbit})
                suspended_at = None
            TrafficPeriod.objects.filter(pk=period.pk, applied_at__isnull=True).update(
                applied_at=now, action=action, suspended_at=suspended_at
            )
    except (TargetBusy, ValidationError) as exc:
        logger.info("traffic: %s over its limit, %s waits: %s", vm.name, action, exc)


def reapply_throttles(now):
    """Throttle again each VM of this month's throttled ones whose domain a resize or a
    reinstall redefined after the throttle was applied. Returns the VMs' ids."""
    throttled = {
        p.vm_id: p
        for p in TrafficPeriod.objects.filter(
            month=counted.month_of(now), action="throttle", applied_at__isnull=False, lifted_at__isnull=True
        )
    }
    if not throttled:
        return []
    redefined = Job.objects.filter(
        target_type=ContentType.objects.get_for_model(VirtualMachine),
        target_id__in=list(throttled),
        kind__in=REDEFINING,
        finished_at__isnull=False,
    ).values_list("target_id", "finished_at")
    again = sorted({vm_id for vm_id, finished in redefined if finished > throttled[vm_id].applied_at})
    for vm in VirtualMachine.objects.filter(pk__in=again).select_related("plan", "host"):
        period = throttled[vm.pk]
        try:
            with transaction.atomic():
                again_now = TrafficPeriod.objects.filter(pk=period.pk, applied_at=period.applied_at)
                if again_now.update(applied_at=now, failed_at=None):
                    mbit = vm.plan.traffic_throttle_mbit if vm.plan else DEFAULT_MBIT  # the plan was deleted
                    vm_operation(vm, "vm_traffic_throttle", params={"mbit": mbit})
        except (TargetBusy, ValidationError) as exc:
            logger.info("traffic: throttling %s again waits: %s", vm.name, exc)
    return again
