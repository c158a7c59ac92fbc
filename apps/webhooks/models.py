"""Webhooks (docs/webhooks.md): endpoints a reseller (or staff) registers, the events the
panel emits, and one delivery per event and endpoint, with its attempts and last answer."""

import json
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

EVENT_TYPES = (
    "vm.created",
    "vm.deleted",
    "vm.state_changed",
    "job.succeeded",
    "job.failed",
    "vm.suspended",
    "vm.unsuspended",
    "customer.suspended",
    "customer.unsuspended",
    "traffic.warning",
    "traffic.limit_reached",
)


def new_secret():
    return "whsec_" + secrets.token_urlsafe(32)


class Endpoint(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Signs every delivery (HMAC-SHA256); shown to the owner, never logged.
    secret = models.CharField(max_length=100, default=new_secret)
    events = models.JSONField(default=list, help_text="Event types subscribed to (EVENT_TYPES).")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.url


class Event(models.Model):
    """Something that happened, once: its body is the exact bytes every endpoint receives."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Whose object: for telling state changes apart ("vm:17") and not repeating one.
    subject = models.CharField(max_length=64, blank=True, db_index=True)
    # Set for events that must happen once (a job's end): unique.
    key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.type} {self.subject}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Gave up")


class Delivery(models.Model):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_try_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resent_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=DeliveryStatus.values), name="delivery_status_valid")
        ]

    def __str__(self):
        return f"{self.event.type} → {self.endpoint.url} ({self.status})"

    @property
    def event_payload(self):
        return json.loads(self.event.body)
