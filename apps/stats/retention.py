"""Downsampling and pruning of the sample tables (run by whichever collector holds the
``maintenance`` lease, about once a minute; ``maintain(now)`` is the entry point).

Tiers (``Tier``): raw (one row per sweep), minute, hour, day. Each downsampled tier is
filled from the one below it: every complete bucket becomes one row per VM (or host)
holding the average of each metric over the bucket (SQL ``AVG``, which skips unknown
values), stamped with the bucket's start in UTC. ``Rollup`` remembers how far each tier
is filled, so every bucket is written once, and work is done in chunks of a few buckets,
each its own short transaction on the statistics database only.

A raw bucket is complete once the clock is two intervals past its end (a sweep stamps
its rows when the host answered and writes them right after). A coarser bucket is
complete once the tier below has been filled past its end.

Pruning deletes rows older than their tier's retention (settings ``VMM_STATS_*``), in
batches, and never a row the next tier has not been filled from yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import router, transaction
from django.db.models import Avg, Max, Min
from django.db.models.functions import Trunc

from apps.stats.models import METRICS, Collector, HostSample, Rollup, Tier, VmSample

DELETE_BATCH = 20_000


@dataclass(frozen=True)
class Level:
    tier: Tier
    source: Tier
    kind: str  # Trunc kind
    width: timedelta
    chunk: int  # buckets per transaction


LEVELS = (
    Level(Tier.MINUTE, Tier.RAW, "minute", timedelta(minutes=1), 10),
    Level(Tier.HOUR, Tier.MINUTE, "hour", timedelta(hours=1), 6),
    Level(Tier.DAY, Tier.HOUR, "day", timedelta(days=1), 7),
)
WIDTH = {Tier.RAW: None, **{level.tier: level.width for level in LEVELS}}


def retention() -> dict[Tier, timedelta]:
    """How long each tier is kept (from the settings)."""
    return {
        Tier.RAW: timedelta(hours=settings.VMM_STATS_RAW_HOURS),
        Tier.MINUTE: timedelta(days=settings.VMM_STATS_MINUTE_DAYS),
        Tier.HOUR: timedelta(days=settings.VMM_STATS_HOUR_DAYS),
        Tier.DAY: timedelta(days=settings.VMM_STATS_DAY_DAYS),
    }


def floor(moment: datetime, width: timedelta) -> datetime:
    """The start of the UTC bucket of ``width`` that holds ``moment``."""
    seconds = int(width.total_seconds())
    stamp = int(moment.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(stamp, tz=UTC)


def _key(model) -> str:
    return "vm_id" if model is VmSample else "host_id"


def _done_until(model, tier: Tier) -> datetime | None:
    row = Rollup.objects.filter(table=model._meta.model_name, tier=tier).first()
    return row.done_until if row else None


def _fill_limit(model, level: Level, now: datetime) -> datetime | None:
    if level.source == Tier.RAW:
        return floor(now - timedelta(seconds=2 * settings.VMM_STATS_INTERVAL), level.width)
    below = _done_until(model, level.source)
    return floor(below, level.width) if below else None


def downsample(model, level: Level, now: datetime) -> int:
    """Fill ``level.tier`` of ``model`` with every complete bucket not yet written. Returns rows written."""
    limit = _fill_limit(model, level, now)
    if limit is None:
        return 0
    start = _done_until(model, level.tier)
    if start is None:
        first = model.objects.filter(tier=level.source).aggregate(first=Min("at"))["first"]
        if first is None:
            return 0
        start = floor(first, level.width)
    key = _key(model)
    extra = {"host_id": Max("host_id")} if model is VmSample else {}
    written = 0
    database = router.db_for_write(model)
    while start < limit:
        # Skip empty stretches (the collector was stopped) in one step, not chunk by chunk.
        following = model.objects.filter(tier=level.source, at__gte=start, at__lt=limit).aggregate(first=Min("at"))
        start = limit if following["first"] is None else max(start, floor(following["first"], level.width))
        end = min(start + level.chunk * level.width, limit)
        with transaction.atomic(using=database):
            buckets = (
                model.objects.filter(tier=level.source, at__gte=start, at__lt=end)
                .annotate(bucket=Trunc("at", level.kind, tzinfo=UTC))
                .values(key, "bucket")
                .annotate(**extra, **{metric: Avg(metric) for metric in METRICS})
                .order_by()
            )
            rows = [model(tier=level.tier, at=b.pop("bucket"), **b) for b in buckets]  # key, (host_id), metrics
            model.objects.bulk_create(rows, batch_size=2000)
            Rollup.objects.update_or_create(table=model._meta.model_name, tier=level.tier, defaults={"done_until": end})
        written += len(rows)
        start = end
    return written


def prune(model, now: datetime) -> int:
    """Delete rows past their tier's retention, keeping any the next tier still needs. Returns rows deleted."""
    deleted = 0
    keep = retention()
    for tier, age in keep.items():
        cutoff = now - age
        coarser = next((level.tier for level in LEVELS if level.source == tier), None)
        if coarser is not None:
            filled = _done_until(model, coarser) or datetime.min.replace(tzinfo=UTC)
            cutoff = min(cutoff, filled)
        while True:
            ids = list(model.objects.filter(tier=tier, at__lt=cutoff).values_list("pk", flat=True)[:DELETE_BATCH])
            if not ids:
                break
            deleted += model.objects.filter(pk__in=ids).delete()[0]
    return deleted


def maintain(now: datetime) -> dict[str, int]:
    """Downsample then prune both sample tables; forget collectors silent for a day."""
    out = {"downsampled": 0, "pruned": 0}
    for model in (VmSample, HostSample):
        for level in LEVELS:
            out["downsampled"] += downsample(model, level, now)
        out["pruned"] += prune(model, now)
    Collector.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    return out
