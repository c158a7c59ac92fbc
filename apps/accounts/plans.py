"""Plans: named VM sizes resellers and billing systems order by. Staff manage them. A plan
may carry a monthly traffic limit and what happens to a VM past it (docs/traffic.md)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The sizes a plan (and a VM ordered by one) may have: field -> (lowest, highest).
SIZES = {"vcpus": (1, 64), "memory_mb": (256, 262144), "disk_gb": (1, 4096)}
# Traffic terms: field -> (lowest, highest).
TRAFFIC_LIMITS = {"traffic_limit_gb": (1, 10_000_000), "traffic_throttle_mbit": (1, 100_000)}


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vcpus", "memory_mb", "disk_gb", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(vcpus__gte=1) & Q(vcpus__lte=64), name="plan_vcpus_range"),
            models.CheckConstraint(condition=Q(memory_mb__gte=256), name="plan_memory_min"),
            models.CheckConstraint(condition=Q(disk_gb__gte=1), name="plan_disk_min"),
            models.CheckConstraint(condition=Q(traffic_action__in=TrafficAction.values), name="plan_traffic_action"),
        ]

    def __str__(self):
        return self.name
