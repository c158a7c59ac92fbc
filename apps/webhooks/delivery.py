"""Sending deliveries (django-q2 tasks): signed, to the address checked just before, retried
with exponential backoff (VMM_WEBHOOK_BACKOFF × 2^(attempt-1), capped at an hour) until
VMM_WEBHOOK_RETRY_HOURS after the event, then given up. `deliver_due` (the jobs reconciler's
housekeeping, every minute) sends what is due again. docs/webhooks.md."""

import hashlib
import hmac
import http.client
import logging
import socket
import ssl
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.webhooks import addresses
from apps.webhooks.models import Delivery, DeliveryStatus

logger = logging.getLogger("vmmanager.webhooks")

SIGNATURE_HEADER = "VMM-Signature"
EVENT_HEADER = "VMM-Event"
DELIVERY_HEADER = "VMM-Delivery"
MAX_BACKOFF = 3600
STUCK = timedelta(minutes=10)  # a delivery "sending" this long lost its worker


def sign(secret, body, timestamp=None):
    """The signature header's value: `t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body.encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def queue(delivery):
    from django_q.tasks import async_task

    async_task("apps.webhooks.delivery.deliver", delivery.pk, task_name=f"webhook-{delivery.pk}")


class _Pinned:
    """Connect to the address that was checked, whatever the name resolves to now."""

    def __init__(self, address, *args, **kwargs):
        self._address = address
        super().__init__(*args, **kwargs)

    def _socket(self):
        return socket.create_connection((self._address, self.port), self.timeout)


class PinnedHTTP(_Pinned, http.client.HTTPConnection):
    def connect(self):
        self.sock = self._socket()


class PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    def connect(self):
        self.sock = self._context.wrap_socket(self._socket(), server_hostname=self.host)


def post(url, body, headers):
    """POST `body` to `url` after checking where it goes. Returns (status, excerpt)."""
    scheme, host, port, found = addresses.resolve(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = settings.VMM_WEBHOOK_TIMEOUT
    if scheme == "https":
        conn = PinnedHTTPS(found[0], host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = PinnedHTTP(found[0], host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        excerpt = response.read(2000).decode("utf-8", "replace")[:500]
        return response.status, excerpt
    finally:
        conn.close()


def backoff(attempts):
    return min(settings.VMM_WEBHOOK_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def deliver(delivery_id):
    """One attempt at delivery `delivery_id` (a task; a second delivery of the task is a
    no-op: the attempt is claimed with a conditional UPDATE)."""
    if not Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SENDING, next_try_at=None
    ):
        return None
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    event, endpoint = delivery.event, delivery.endpoint
    delivery.attempts += 1
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "vmmanager-webhooks/1",
        EVENT_HEADER: event.type,
        DELIVERY_HEADER: str(delivery.pk),
        SIGNATURE_HEADER: sign(endpoint.secret, event.body),
    }
    try:
        code, excerpt = post(endpoint.url, event.body, headers)
        delivery.response_code, delivery.response_excerpt, delivery.error = code, excerpt, ""
        ok = 200 <= code < 300
    except addresses.NotAllowed as exc:
        delivery.response_code, delivery.response_excerpt, delivery.error = None, "", str(exc)[:500]
        ok = False
    except (OSError, http.client.HTTPException) as exc:
        delivery.response_code, delivery.response_excerpt = None, ""
        delivery.error = (str(exc) or type(exc).__name__)[:500]
        ok = False
    now = timezone.now()
    if ok:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
    else:
        next_try = now + timedelta(seconds=backoff(delivery.attempts))
        if not endpoint.is_active or next_try > event.created_at + timedelta(hours=settings.VMM_WEBHOOK_RETRY_HOURS):
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.status, delivery.next_try_at = DeliveryStatus.PENDING, next_try
    delivery.save()
    logger.info(
        "webhook %s %s to %s: %s", delivery.pk, event.type, endpoint.url, delivery.response_code or delivery.error
    )
    return delivery


def deliver_due(now=None):
    """Queue every delivery whose next try is due (and any stuck sending). Returns how many."""
    now = now or timezone.now()
    Delivery.objects.filter(status=DeliveryStatus.SENDING, updated_at__lt=now - STUCK).update(
        status=DeliveryStatus.PENDING, next_try_at=now
    )
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_try_at__lte=now) | Q(next_try_at__isnull=True, created_at__lt=now - STUCK))
        .values_list("pk", flat=True)[:5000]
    )
    for pk in due:
        queue(Delivery(pk=pk))
    return len(due)
