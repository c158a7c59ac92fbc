"""Plans: named VM sizes resellers and billing systems order by. Staff manage them."""

from django.db import models
from django.db.models import Q

# The sizes a plan (and a VM ordered by one) may have: field -> (lowest, highest).
SIZES = {"vcpus": (1, 64), "memory_mb": (256, 262144), "disk_gb": (1, 4096)}


class Plan(models.Model):
    name = models.CharField(max_length=64, unique=True)
    vcpus = models.PositiveSmallIntegerField()
    memory_mb = models.PositiveIntegerField()
    disk_gb = models.PositiveIntegerField()
    price_code = models.CharField(max_length=64, blank=True, help_text="The billing system's code for this size.")
    is_active = models.BooleanField(default=True, help_text="Inactive plans are kept for history, not offered.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vcpus", "memory_mb", "disk_gb", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(vcpus__gte=1) & Q(vcpus__lte=64), name="plan_vcpus_range"),
            models.CheckConstraint(condition=Q(memory_mb__gte=256), name="plan_memory_min"),
            models.CheckConstraint(condition=Q(disk_gb__gte=1), name="plan_disk_min"),
        ]

    def __str__(self):
        return self.name
