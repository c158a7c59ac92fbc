"""A VM's traffic in one billing month, as the panel knows it (docs/traffic.md): the totals
copied from the statistics tables (``apps.stats.traffic``) every minute, so pages and the
API never read those, and what the limit of its plan caused that month: the 80 % warning,
the limit reached, the action taken (throttle or suspend) and its lifting. One row per VM
and month; each stamp is set once (by a conditional UPDATE), so a notice, an event or an
action happens once per VM and month."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.plans import TrafficAction

GIB = 2**30
WARN_AT = 0.8  # share of the limit that sends the warning


class TrafficState(models.TextChoices):
    UNLIMITED = "unlimited", _("No limit")
    OK = "ok", _("Within the limit")
    WARNING = "warning", _("Nearing the limit (80 %)")
    REACHED = "reached", _("Limit reached")
    THROTTLED = "throttled", _("Throttled")
    FAILED = "failed", _("Throttling failed")
    SUSPENDED = "suspended", _("Suspended")
    LIFTED = "lifted", _("Limit lifted for this month")


class TrafficPeriod(models.Model):
    vm = models.ForeignKey("vms.VirtualMachine", on_delete=models.CASCADE, related_name="traffic_periods")
    month = models.DateField(help_text="The month's first day (in VMM_BILLING_TIME_ZONE).")
    rx_bytes = models.BigIntegerField(default=0, help_text="Received by the VM (in).")
    tx_bytes = models.BigIntegerField(default=0, help_text="Sent by the VM (out).")
    synced_at = models.DateTimeField(null=True, blank=True)
    limit_bytes = models.BigIntegerField(null=True, blank=True, help_text="The plan's limit when last checked.")
    warned_at = models.DateTimeField(null=True, blank=True)
    reached_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=8, choices=TrafficAction.choices, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    # The throttle job failed (the host could not do it: see the VM's jobs); not retried.
    failed_at = models.DateTimeField(null=True, blank=True)
    # The VM's suspension this caused (its suspended_at): lifting undoes only that one.
    suspended_at = models.DateTimeField(null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-month"]
        constraints = [models.UniqueConstraint(fields=["vm", "month"], name="traffic_period_unique")]

    def __str__(self):
        return f"{self.vm_id} {self.month:%Y-%m}"

    @property
    def used_bytes(self):
        return self.rx_bytes + self.tx_bytes

    @property
    def state(self):
        return period_state(self)


# What period_state reads of a period: a list reads these columns as values (not rows as
# model instances) and gives period_state the values (apps.traffic.services.usage_of_row).
STATE_COLUMNS = ("lifted_at", "applied_at", "failed_at", "action", "reached_at", "limit_bytes", "warned_at")


def period_state(period):
    """The state of a TrafficPeriod, or of anything with its STATE_COLUMNS as attributes."""
    if period.lifted_at is not None:
        return TrafficState.LIFTED
    if period.applied_at is not None and period.failed_at is not None:
        return TrafficState.FAILED
    if period.applied_at is not None:
        return TrafficState.SUSPENDED if period.action == TrafficAction.SUSPEND else TrafficState.THROTTLED
    if period.reached_at is not None:
        return TrafficState.REACHED
    if period.limit_bytes is None:
        return TrafficState.UNLIMITED
    return TrafficState.WARNING if period.warned_at is not None else TrafficState.OK
