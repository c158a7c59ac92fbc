"""Emitting an event: one Event row (its body the exact JSON every endpoint receives) and a
Delivery for each active endpoint that subscribed to it and may see its subject: staff's
endpoints get every event, a reseller's those about itself and its customers. Written
after the transaction that caused it commits; each delivery is then queued."""

import json
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.tenancy import is_staff_user
from apps.webhooks.delivery import queue
from apps.webhooks.models import Delivery, Endpoint, Event

logger = logging.getLogger("vmmanager.webhooks")


def endpoints_for(event_type, owner):
    found = []
    for endpoint in Endpoint.objects.filter(is_active=True).select_related("owner"):
        if event_type not in endpoint.events:
            continue
        if is_staff_user(endpoint.owner) or (
            owner is not None and endpoint.owner_id in (owner.pk, getattr(owner, "reseller_id", None))
        ):
            found.append(endpoint)
    return found


def emit(event_type, owner, data, *, subject="", key=None):
    """Emit `event_type` about an object of `owner` once the current transaction commits."""
    transaction.on_commit(lambda: _write(event_type, owner, data, subject, key))


def _write(event_type, owner, data, subject, key):
    try:
        endpoints = endpoints_for(event_type, owner)
        if not endpoints:
            return None
        event = Event(type=event_type, owner=owner, subject=subject, key=key)
        payload = {"id": str(event.id), "type": event_type, "created": timezone.now().isoformat(), "data": data}
        event.body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)
        with transaction.atomic():
            event.save()
            deliveries = Delivery.objects.bulk_create(Delivery(endpoint=e, event=event) for e in endpoints)
        for delivery in deliveries:
            queue(delivery)
        return event
    except IntegrityError:  # an event that happens once (its key) already was
        return None
    except Exception:  # noqa: BLE001 - a lost event must never fail what caused it
        logger.exception("could not emit %s", event_type)
        return None
