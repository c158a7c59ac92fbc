"""The one door for a VM's traffic limit (docs/traffic.md): what the VM page and the API
show (`usage`, `history`) and lifting the limit for the month (`lift_traffic_limit`),
which staff call from either door and the new month's housekeeping calls for every VM
still limited from an earlier month. Raises Http404 for a VM the actor may not see,
PermissionDenied for non-staff, runner.TargetBusy when the VM runs another operation."""

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import FilteredRelation, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.plans import TrafficAction
from apps.accounts.tenancy import is_staff_user
from apps.stats.traffic import month_of
from apps.traffic.models import GIB, STATE_COLUMNS, TrafficPeriod, TrafficState, period_state
from apps.vms.models import VirtualMachine
from apps.vms.selectors import visible_vms
from apps.vms.services import vm_operation
from apps.vms.suspension import unsuspend_vm


@dataclass(frozen=True)
class Usage:
    """A VM's traffic in one month, for pages and the API."""

    month: date
    rx_bytes: int
    tx_bytes: int
    limit_bytes: int | None
    state: str
    action: str  # what passing the limit does (or did): throttle / suspend, "" without a limit
    synced_at: object = None

    @property
    def used_bytes(self):
        return self.rx_bytes + self.tx_bytes

    @property
    def percent(self):
        return None if not self.limit_bytes else min(999, round(self.used_bytes * 100 / self.limit_bytes))

    def as_dict(self):
        return {
            "month": self.month.strftime("%Y-%m"),
            "rx_bytes": self.rx_bytes,
            "tx_bytes": self.tx_bytes,
            "used_bytes": self.used_bytes,
            "limit_bytes": self.limit_bytes,
            "state": self.state,
            "action": self.action,
            "synced_at": self.synced_at,
        }


def limit_of(limit_gb, action):
    """(limit in bytes, action) of a plan's `traffic_limit_gb` and `traffic_action`."""
    return (limit_gb * GIB, action) if limit_gb else (None, "")


def plan_limit(vm):
    plan = vm.plan
    return limit_of(plan.traffic_limit_gb, plan.traffic_action) if plan else (None, "")


def _usage(vm, month, period):
    return _usage_within(plan_limit(vm), month, period)


def _usage_within(plan_limit, month, period):
    limit, action = plan_limit
    if period is None:
        state = TrafficState.OK if limit else TrafficState.UNLIMITED
        return Usage(month, 0, 0, limit, state, action)
    state = period_state(period)
    if state in (TrafficState.UNLIMITED, TrafficState.OK, TrafficState.WARNING):
        # Not acted on: as the plan says now (a limit set or removed since the last check).
        state = (TrafficState.WARNING if period.warned_at else TrafficState.OK) if limit else TrafficState.UNLIMITED
    return Usage(
        month, period.rx_bytes, period.tx_bytes, limit, state, period.action or action, synced_at=period.synced_at
    )


def usage(vm, now=None, periods=None):
    """The VM's traffic this month (`periods`: its rows already fetched, for lists)."""
    month = month_of(now or timezone.now())
    if periods is None:
        period = TrafficPeriod.objects.filter(vm=vm, month=month).first()
    else:
        period = next((p for p in periods if p.month == month), None)
    return _usage(vm, month, period)


# A VM list's page reads this month's traffic row in its own query: joined by
# with_current_traffic under this name, its columns read as values (CURRENT_COLUMNS), the
# usage made of them by usage_of_row. One query for the page instead of a second one for its
# traffic: Django builds and runs it for about 0.8 ms less than the two (docs/api.md).
CURRENT = "current_traffic"
PERIOD_COLUMNS = ("id", "rx_bytes", "tx_bytes", "synced_at", *STATE_COLUMNS)
CURRENT_COLUMNS = tuple(f"{CURRENT}__{column}" for column in PERIOD_COLUMNS)


def with_current_traffic(vms, month):
    """`vms` (VirtualMachine rows) with their traffic row of `month` joined: a LEFT JOIN on
    the row's unique (vm, month), so still one row per VM."""
    return vms.annotate(**{CURRENT: FilteredRelation("traffic_periods", condition=Q(traffic_periods__month=month))})


def usage_of_row(row, month):
    """`month`'s Usage of a VM read as values: CURRENT_COLUMNS of with_current_traffic, and
    its plan's `plan__traffic_limit_gb` and `plan__traffic_action` (None without a plan)."""
    if row[f"{CURRENT}__id"] is None:
        period = None
    else:
        period = SimpleNamespace(**{column: row[f"{CURRENT}__{column}"] for column in PERIOD_COLUMNS})
    return _usage_within(limit_of(row["plan__traffic_limit_gb"], row["plan__traffic_action"]), month, period)


def history(vm, now=None):
    """This month first, then every earlier month the panel has figures for."""
    current = usage(vm, now)
    older = TrafficPeriod.objects.filter(vm=vm, month__lt=current.month).order_by("-month")
    return [current, *(_usage_of_past(vm, p) for p in older)]


def _usage_of_past(vm, period):
    return Usage(
        period.month,
        period.rx_bytes,
        period.tx_bytes,
        period.limit_bytes,
        period.state,
        period.action,
        synced_at=period.synced_at,
    )


def may_lift(actor):
    return actor is not None and is_staff_user(actor)


def lift_traffic_limit(vm, *, actor, now=None, month=None, request_id=None):
    """Lift the VM's traffic limit for `month` (default: this month): undo what passing it
    did (free the network: a vm_traffic_unthrottle job; or lift the suspension it caused)
    and keep it from being applied again that month. Returns the job, or None when there
    was nothing to undo. Lifting again is a success that starts nothing. `actor` None:
    the panel itself (the new month)."""
    if actor is not None:
        if not visible_vms(actor).filter(pk=vm.pk).exists():
            raise Http404("No such VM.")
        if not may_lift(actor):
            raise PermissionDenied(_("Only the provider's staff may lift a traffic limit."))
    now = now or timezone.now()
    month = month or month_of(now)
    with transaction.atomic():
        period, _created = TrafficPeriod.objects.get_or_create(vm=vm, month=month)
        period = TrafficPeriod.objects.select_for_update().get(pk=period.pk)
        if period.lifted_at is not None:
            return None
        period.lifted_at, period.lifted_by = now, actor
        period.save(update_fields=["lifted_at", "lifted_by"])
        if period.applied_at is None or period.failed_at is not None:
            return None  # nothing was done to the VM (or the host could not do it)
        vm = VirtualMachine.objects.select_related("owner", "host").get(pk=vm.pk)
        if period.action == TrafficAction.THROTTLE:
            return vm_operation(vm, "vm_traffic_unthrottle", actor=actor, request_id=request_id)
        return _lift_suspension(vm, period, actor, request_id)


def _lift_suspension(vm, period, actor, request_id):
    if period.suspended_at is None or vm.suspended_at != period.suspended_at:
        return None  # not suspended by the limit (or suspended again since, for another reason)
    if vm.owner.suspended_at is not None:
        # The customer has been suspended meanwhile: the VM comes back with the customer.
        VirtualMachine.objects.filter(pk=vm.pk).update(
            suspended_with_owner=True, suspension_reason=vm.owner.suspension_reason
        )
        return None
    return unsuspend_vm(vm, actor=actor, request_id=request_id)
