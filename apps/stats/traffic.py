"""Monthly traffic totals from the collector's interface counters (docs/traffic.md).

Each sweep the collector stores every running VM's cumulative byte counters (in and out,
summed over its interfaces) as a ``TrafficReading``. About once a minute the holder of the
``maintenance`` lease calls ``count(now)``: it takes the readings older than ``SETTLE``
(three intervals: a slow sweep's rows are in by then), VM by VM in time order, adds each reading's increase over
the VM's previous one to the month the reading falls in, and deletes them; the last reading
per VM stays in ``TrafficCounter`` for the next round. The increase of a reading is:

- the difference to the previous reading on the same host, when the counter went up;
- the reading itself when the counter went down (the VM restarted or a NIC was re-plugged:
  counters start from zero, so everything read since then is new), never negative;
- the reading itself when the previous one was on another host (the VM moved: its counters
  there started from zero when it arrived), so nothing is counted twice;
- nothing for a VM's very first reading (a baseline: counters of a VM already running when
  counting began are not billed into one month), nor for a reading not newer than the
  last one counted (a sweep stored late: already past).

Bytes between a VM's last reading before a restart (or move) and the restart are lost, at
most one interval's worth; a restart after which the counter has already grown past the
previous reading by the next sweep is taken for growth (the same limit as the rates).

A reading belongs to the month (in ``VMM_BILLING_TIME_ZONE``) of the moment it was read.
Pure bookkeeping on the statistics database: nothing in the core tables is read or written.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import router, transaction

from apps.stats.models import TrafficCounter, TrafficMonth, TrafficReading

BATCH = 20_000  # readings per transaction (and parameters per query: PostgreSQL allows 65,535)


def billing_zone() -> ZoneInfo:
    return ZoneInfo(settings.VMM_BILLING_TIME_ZONE)


def month_of(moment: datetime) -> date:
    """The first day of the billing month ``moment`` (aware) falls in."""
    return moment.astimezone(billing_zone()).date().replace(day=1)


def month_start(month: date) -> datetime:
    """The aware moment the billing month ``month`` (its first day) begins."""
    return datetime(month.year, month.month, 1, tzinfo=billing_zone())


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def increase(previous: int, current: int, same_host: bool) -> int:
    """Bytes since the previous reading (see the module docstring): never negative."""
    if not same_host or current < previous:
        return current
    return current - previous


def count(now: datetime, settle: timedelta | None = None) -> int:
    """Count the readings older than ``settle`` (default: three collector intervals) into
    monthly totals, ``BATCH`` readings per transaction on the statistics database. Returns
    how many readings were counted."""
    if settle is None:
        settle = timedelta(seconds=3 * settings.VMM_STATS_INTERVAL)
    counted = 0
    while True:
        done = _count_batch(now - settle, now)
        counted += done
        if done < BATCH:
            return counted


def _count_batch(cutoff: datetime, now: datetime) -> int:
    database = router.db_for_write(TrafficReading)
    with transaction.atomic(using=database):
        readings = list(
            TrafficReading.objects.using(database)
            .select_for_update(skip_locked=True)
            .filter(at__lte=cutoff)
            .order_by("vm_id", "at", "id")
            .values_list("id", "vm_id", "host_id", "at", "rx_bytes", "tx_bytes")[:BATCH]
        )
        if not readings:
            return 0
        vm_ids = {r[1] for r in readings}
        last = {c.vm_id: c for c in TrafficCounter.objects.using(database).filter(vm_id__in=vm_ids)}
        added: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
        for _pk, vm_id, host_id, at, rx, tx in readings:
            previous = last.get(vm_id)
            if previous is not None and at <= previous.at:
                continue  # stored late: its interval is already counted
            if previous is not None:
                same = previous.host_id == host_id
                total = added[(vm_id, month_of(at))]
                total[0] += increase(previous.rx_bytes, rx, same)
                total[1] += increase(previous.tx_bytes, tx, same)
            last[vm_id] = TrafficCounter(vm_id=vm_id, host_id=host_id, at=at, rx_bytes=rx, tx_bytes=tx)
        _add(database, added, now)
        TrafficCounter.objects.using(database).bulk_create(
            last.values(),
            update_conflicts=True,
            unique_fields=["vm_id"],
            update_fields=["host_id", "at", "rx_bytes", "tx_bytes"],
            batch_size=1000,
        )
        TrafficReading.objects.using(database).filter(pk__in=[r[0] for r in readings]).delete()
    return len(readings)


def _add(database: str, added: dict[tuple[int, date], list[int]], now: datetime) -> None:
    if not added:
        return
    months = {month for _vm, month in added}
    existing = {
        (row.vm_id, row.month): row
        for row in TrafficMonth.objects.using(database).filter(vm_id__in={vm for vm, _month in added}, month__in=months)
    }
    rows = []
    for (vm_id, month), (rx, tx) in added.items():
        before = existing.get((vm_id, month))
        rx += before.rx_bytes if before else 0
        tx += before.tx_bytes if before else 0
        rows.append(TrafficMonth(vm_id=vm_id, month=month, rx_bytes=rx, tx_bytes=tx, updated_at=now))
    TrafficMonth.objects.using(database).bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["vm_id", "month"],
        update_fields=["rx_bytes", "tx_bytes", "updated_at"],
        batch_size=1000,
    )


def forget(now: datetime, days: int = 90) -> int:
    """Drop last readings of VMs not read for ``days`` (deleted VMs): a VM that comes back
    after that starts from a baseline again."""
    database = router.db_for_write(TrafficCounter)
    deleted, _ = TrafficCounter.objects.using(database).filter(at__lt=now - timedelta(days=days)).delete()
    return deleted


def totals(months: list[date] | tuple[date, ...], vm_ids=None) -> dict[tuple[int, date], tuple[int, int]]:
    """{(vm id, month): (bytes in, bytes out)} of ``months`` (for ``vm_ids``, or all)."""
    rows = TrafficMonth.objects.filter(month__in=months)
    if vm_ids is not None:
        rows = rows.filter(vm_id__in=list(vm_ids))
    return {
        (vm_id, month): (rx, tx) for vm_id, month, rx, tx in rows.values_list("vm_id", "month", "rx_bytes", "tx_bytes")
    }
