"""Statistics tables, kept apart from the core ones.

No foreign keys into core tables: ``vm_id`` / ``host_id`` are plain integers, so these
tables can live in another database (``STATS_DATABASE_URL``, see ``apps.stats.router``)
and a VM or host can be deleted without touching (or locking) its history. Samples of a
deleted VM age out with their tier.

A sample row holds the values derived for one interval (``apps.stats.rates``): rates are
per second, memory in bytes, CPU in percent. ``tier`` says which resolution the row
belongs to (``Tier``); downsampled rows are averages over their bucket, stamped with the
bucket's start.
"""

from django.db import models


class Tier(models.IntegerChoices):
    RAW = 0, "raw"
    MINUTE = 1, "minute"
    HOUR = 2, "hour"
    DAY = 3, "day"


# The metric columns every sample table has, in the order the API serves them.
METRICS = (
    "cpu_pct",
    "memory_used_bytes",
    "memory_total_bytes",
    "disk_read_bps",
    "disk_write_bps",
    "disk_read_iops",
    "disk_write_iops",
    "net_rx_bps",
    "net_tx_bps",
    "net_rx_pps",
    "net_tx_pps",
)


class Sample(models.Model):
    tier = models.PositiveSmallIntegerField(choices=Tier.choices)
    at = models.DateTimeField()
    cpu_pct = models.FloatField(null=True)
    memory_used_bytes = models.FloatField(null=True)
    memory_total_bytes = models.FloatField(null=True)
    disk_read_bps = models.FloatField(null=True)
    disk_write_bps = models.FloatField(null=True)
    disk_read_iops = models.FloatField(null=True)
    disk_write_iops = models.FloatField(null=True)
    net_rx_bps = models.FloatField(null=True)
    net_tx_bps = models.FloatField(null=True)
    net_rx_pps = models.FloatField(null=True)
    net_tx_pps = models.FloatField(null=True)

    class Meta:
        abstract = True


class VmSample(Sample):
    """One VM over one interval (raw) or one bucket (downsampled)."""

    vm_id = models.BigIntegerField()
    host_id = models.BigIntegerField()  # where it ran then (for /metrics labels and host views)

    class Meta:
        indexes = [
            models.Index(fields=["vm_id", "tier", "at"], name="stats_vm_series"),
            models.Index(fields=["tier", "at"], name="stats_vm_tier_at"),
        ]

    def __str__(self):
        return f"vm {self.vm_id} {self.get_tier_display()} {self.at:%Y-%m-%d %H:%M:%S}"


class HostSample(Sample):
    """One host over one interval or bucket: its own CPU and memory, its VMs' disk and network summed."""

    host_id = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["host_id", "tier", "at"], name="stats_host_series"),
            models.Index(fields=["tier", "at"], name="stats_host_tier_at"),
        ]

    def __str__(self):
        return f"host {self.host_id} {self.get_tier_display()} {self.at:%Y-%m-%d %H:%M:%S}"


class Collector(models.Model):
    """A running collector process: its heartbeat decides how hosts are shared out."""

    name = models.CharField(max_length=200, primary_key=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.name


class Lease(models.Model):
    """Who sweeps what: ``host:<id>`` for a host, ``maintenance`` for downsampling and
    pruning. Claimed by a conditional UPDATE (free, expired or already ours), so two
    collectors never hold the same key at once."""

    key = models.CharField(max_length=64, primary_key=True)
    owner = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.key} -> {self.owner or 'nobody'}"


class Rollup(models.Model):
    """How far each downsampled tier has been filled (exclusive end), per sample table."""

    table = models.CharField(max_length=16)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices)
    done_until = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "tier"], name="stats_rollup_unique")]

    def __str__(self):
        return f"{self.table} {self.get_tier_display()} until {self.done_until}"


class TrafficReading(models.Model):
    """A VM's cumulative interface byte counters as one sweep read them (summed over its
    interfaces), waiting to be counted into ``TrafficMonth`` by ``apps.stats.traffic``
    (which deletes them once counted: this table holds about a minute of sweeps)."""

    vm_id = models.BigIntegerField()
    host_id = models.BigIntegerField()
    at = models.DateTimeField()
    rx_bytes = models.BigIntegerField()
    tx_bytes = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["at"], name="stats_traffic_reading_at")]

    def __str__(self):
        return f"vm {self.vm_id} on {self.host_id} at {self.at:%Y-%m-%d %H:%M:%S}"


class TrafficCounter(models.Model):
    """The last reading counted for a VM: where the next one's increase is measured from
    (a reading on another host, or lower than this one, counts from zero)."""

    vm_id = models.BigIntegerField(primary_key=True)
    host_id = models.BigIntegerField()
    at = models.DateTimeField()
    rx_bytes = models.BigIntegerField()
    tx_bytes = models.BigIntegerField()

    def __str__(self):
        return f"vm {self.vm_id} counted until {self.at:%Y-%m-%d %H:%M:%S}"


class TrafficMonth(models.Model):
    """Bytes a VM received (``rx``, in) and sent (``tx``, out) in one month, the month
    starting at midnight of its first day in ``VMM_BILLING_TIME_ZONE`` (``month`` is that
    first day)."""

    vm_id = models.BigIntegerField()
    month = models.DateField()
    rx_bytes = models.BigIntegerField(default=0)
    tx_bytes = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vm_id", "month"], name="stats_traffic_month_unique")]
        indexes = [models.Index(fields=["month"], name="stats_traffic_month")]

    def __str__(self):
        return f"vm {self.vm_id} {self.month:%Y-%m}: in {self.rx_bytes} out {self.tx_bytes}"
