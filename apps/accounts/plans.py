"""Plans: named VM sizes resellers and billing systems order by. Staff manage them. A plan
may carry a monthly traffic limit and what happens to a VM past it (docs/traffic.md), and a
backup schedule its new VMs get as their own (docs/backups.md, "Schedules per plan")."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The sizes a plan (and a VM ordered by one) may have: field -> (lowest, highest).
SIZES = {"vcpus": (1, 64), "memory_mb": (256, 262144), "disk_gb": (1, 4096)}
# Traffic terms: field -> (lowest, highest).
TRAFFIC_LIMITS = {"traffic_limit_gb": (1, 10_000_000), "traffic_throttle_mbit": (1, 100_000)}
# A plan's backup schedule: field -> (lowest, highest) (as apps.backups.schedules takes them).
BACKUP_TERMS = {"backup_hour": (0, 23), "backup_weekday": (0, 6), "backup_keep_daily": (0, 365),
                "backup_keep_weekly": (0, 520)}  # fmt: skip


class BackupFrequency(models.TextChoices):
    """How often a plan's new VMs are backed up (none: no schedule of the plan's)."""

    NONE = "", _("No scheduled backups")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class TrafficAction(models.TextChoices):
    """What happens to a VM whose month's traffic (in + out) passed its plan's limit."""

    THROTTLE = "throttle", _("Throttle the network")
    SUSPEND = "suspend", _("Suspend the VM")


class Plan(models.Model):
    name = models.CharField(max_length=64, unique=True)
    vcpus = models.PositiveSmallIntegerField()
    memory_mb = models.PositiveIntegerField()
    disk_gb = models.PositiveIntegerField()
    price_code = models.CharField(max_length=64, blank=True, help_text="The billing system's code for this size.")
    is_active = models.BooleanField(default=True, help_text="Inactive plans are kept for history, not offered.")
    traffic_limit_gb = models.PositiveIntegerField(
        null=True, blank=True, help_text="GiB a VM may transfer a month, in and out together; empty: no limit."
    )
    traffic_action = models.CharField(max_length=8, choices=TrafficAction.choices, default=TrafficAction.THROTTLE)
    traffic_throttle_mbit = models.PositiveIntegerField(
        default=10, help_text="Mbit/s each way a throttled VM's network is held to."
    )
    backup_frequency = models.CharField(
        max_length=6, choices=BackupFrequency.choices, default=BackupFrequency.NONE, blank=True,
        help_text="New VMs of the plan are backed up on this schedule (their own schedule replaces it).",
    )  # fmt: skip
    backup_hour = models.PositiveSmallIntegerField(default=3, help_text="0-23, UTC.")
    backup_weekday = models.PositiveSmallIntegerField(default=6, help_text="Weekly: 0 Monday ... 6 Sunday.")
    backup_keep_daily = models.PositiveSmallIntegerField(default=7)
    backup_keep_weekly = models.PositiveSmallIntegerField(default=4)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vcpus", "memory_mb", "disk_gb", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(vcpus__gte=1) & Q(vcpus__lte=64), name="plan_vcpus_range"),
            models.CheckConstraint(condition=Q(memory_mb__gte=256), name="plan_memory_min"),
            models.CheckConstraint(condition=Q(disk_gb__gte=1), name="plan_disk_min"),
            models.CheckConstraint(condition=Q(traffic_action__in=TrafficAction.values), name="plan_traffic_action"),
            models.CheckConstraint(
                condition=Q(backup_frequency__in=BackupFrequency.values), name="plan_backup_frequency"
            ),
        ]

    def __str__(self):
        return self.name
