"""Downsampling into minute, hour and day tiers, and pruning by each tier's retention."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.stats.models import HostSample, Rollup, Tier, VmSample
from apps.stats.retention import LEVELS, downsample, floor, maintain, prune

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = LEVELS


def raw(vm_id, at, **values):
    return VmSample(tier=Tier.RAW, at=at, vm_id=vm_id, host_id=1, **values)


def test_floor_gives_the_utc_bucket_start():
    assert floor(datetime(2026, 3, 2, 10, 7, 59, 999, tzinfo=UTC), timedelta(minutes=1)) == T0 + timedelta(minutes=7)
    assert floor(T0 + timedelta(hours=5, minutes=3), timedelta(days=1)) == datetime(2026, 3, 2, tzinfo=UTC)


def test_complete_minutes_become_one_row_per_vm_with_averages(settings):
    settings.VMM_STATS_INTERVAL = 10
    rows = [raw(1, T0 + timedelta(seconds=10 * i), cpu_pct=float(i), net_rx_bps=100.0) for i in range(12)]
    rows += [raw(2, T0 + timedelta(seconds=5), cpu_pct=50.0, net_rx_bps=None)]
    VmSample.objects.bulk_create(rows)
    # At 10:02:25 the minute 10:01 is complete (two intervals past its end), 10:02 is not.
    written = downsample(VmSample, MINUTE, T0 + timedelta(minutes=2, seconds=25))
    minute = {(r.vm_id, r.at): r for r in VmSample.objects.filter(tier=Tier.MINUTE)}
    assert written == 3 and set(minute) == {(1, T0), (1, T0 + timedelta(minutes=1)), (2, T0)}
    assert minute[(1, T0)].cpu_pct == pytest.approx(2.5)  # mean of 0..5
    assert minute[(1, T0 + timedelta(minutes=1))].cpu_pct == pytest.approx(8.5)  # mean of 6..11
    assert minute[(2, T0)].cpu_pct == 50.0 and minute[(2, T0)].net_rx_bps is None  # unknown stays unknown
    assert minute[(1, T0)].host_id == 1


def test_each_bucket_is_written_once_however_often_maintenance_runs(settings):
    settings.VMM_STATS_INTERVAL = 10
    VmSample.objects.bulk_create([raw(1, T0 + timedelta(seconds=10 * i), cpu_pct=1.0) for i in range(6)])
    now = T0 + timedelta(minutes=5)
    assert downsample(VmSample, MINUTE, now) == 1
    assert downsample(VmSample, MINUTE, now) == 0
    VmSample.objects.bulk_create([raw(1, T0 + timedelta(minutes=5, seconds=1), cpu_pct=3.0)])
    assert downsample(VmSample, MINUTE, now + timedelta(minutes=2)) == 1  # the 10:05 minute, once complete
    assert VmSample.objects.filter(tier=Tier.MINUTE).count() == 2


def test_hours_are_filled_from_minutes_and_only_once_the_minutes_are_complete(settings):
    settings.VMM_STATS_INTERVAL = 10
    VmSample.objects.bulk_create(
        [raw(1, T0 + timedelta(minutes=m), cpu_pct=float(m % 2) * 100) for m in range(0, 90)]  # 90 minutes
    )
    now = T0 + timedelta(minutes=95)
    assert downsample(VmSample, HOUR, now) == 0  # no minute rows yet: nothing to build hours from
    downsample(VmSample, MINUTE, now)
    assert downsample(VmSample, HOUR, now) == 1  # 10:00-11:00 complete; 11:00-11:30 is not
    hour = VmSample.objects.get(tier=Tier.HOUR)
    assert hour.at == T0 and hour.cpu_pct == pytest.approx(50.0)


def test_host_samples_are_downsampled_too(settings):
    settings.VMM_STATS_INTERVAL = 10
    HostSample.objects.bulk_create(
        [HostSample(tier=Tier.RAW, at=T0 + timedelta(seconds=10 * i), host_id=7, cpu_pct=20.0) for i in range(6)]
    )
    maintain(T0 + timedelta(minutes=3))
    assert list(HostSample.objects.filter(tier=Tier.MINUTE).values_list("host_id", "at", "cpu_pct")) == [(7, T0, 20.0)]


def test_rows_older_than_their_tiers_retention_are_pruned_and_younger_ones_kept(settings):
    settings.VMM_STATS_RAW_HOURS = 24
    settings.VMM_STATS_MINUTE_DAYS = 7
    now = T0 + timedelta(days=30)
    VmSample.objects.bulk_create(
        [
            raw(1, now - timedelta(hours=25)),  # too old for raw
            raw(1, now - timedelta(hours=23)),
            VmSample(tier=Tier.MINUTE, at=now - timedelta(days=8), vm_id=1, host_id=1),
            VmSample(tier=Tier.MINUTE, at=now - timedelta(days=6), vm_id=1, host_id=1),
            VmSample(tier=Tier.HOUR, at=now - timedelta(days=8), vm_id=1, host_id=1),  # hours are kept 90 days
        ]
    )
    # The coarser tiers are filled up to now, so nothing old is still needed.
    for level in LEVELS:
        Rollup.objects.create(table="vmsample", tier=level.tier, done_until=now)
    assert prune(VmSample, now) == 2
    left = set(VmSample.objects.values_list("tier", "at"))
    assert left == {
        (Tier.RAW, now - timedelta(hours=23)),
        (Tier.MINUTE, now - timedelta(days=6)),
        (Tier.HOUR, now - timedelta(days=8)),
    }


def test_old_raw_rows_not_yet_downsampled_are_not_pruned(settings):
    settings.VMM_STATS_RAW_HOURS = 1
    settings.VMM_STATS_INTERVAL = 10
    now = T0 + timedelta(hours=3)
    VmSample.objects.bulk_create([raw(1, T0, cpu_pct=5.0)])
    assert prune(VmSample, now) == 0  # the minute tier has not been filled from it yet
    maintain(now)  # downsample first, then prune
    assert not VmSample.objects.filter(tier=Tier.RAW).exists()
    assert VmSample.objects.get(tier=Tier.MINUTE).cpu_pct == 5.0


def test_after_days_without_a_collector_the_gap_is_skipped_in_a_few_queries(settings, django_assert_max_num_queries):
    settings.VMM_STATS_INTERVAL = 10
    later = T0 + timedelta(days=2)
    VmSample.objects.bulk_create([raw(1, T0, cpu_pct=1.0), raw(1, later, cpu_pct=2.0)])
    with django_assert_max_num_queries(30):  # chunk by chunk over the gap it would be ~2,000
        assert downsample(VmSample, MINUTE, later + timedelta(minutes=5)) == 2
    assert list(VmSample.objects.filter(tier=Tier.MINUTE).order_by("at").values_list("at", "cpu_pct")) == [
        (T0, 1.0),
        (later, 2.0),
    ]
