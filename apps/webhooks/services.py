"""The one door for webhook endpoints and deliveries (the API and the web UI call these):
staff and resellers register endpoints for themselves; a customer has none. An endpoint's
URL must pass apps.webhooks.addresses (SSRF) when it is saved."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.models import Role
from apps.accounts.tenancy import is_staff_user
from apps.webhooks import addresses
from apps.webhooks.delivery import queue
from apps.webhooks.models import EVENT_TYPES, Delivery, Endpoint

UNSET = object()


def visible_endpoints(user):
    if is_staff_user(user):
        return Endpoint.objects.all()
    return Endpoint.objects.filter(owner=user) if user.is_authenticated else Endpoint.objects.none()


def visible_deliveries(user):
    return Delivery.objects.filter(endpoint__in=visible_endpoints(user)).select_related("event", "endpoint")


def check_may_have_endpoints(actor):
    if not (is_staff_user(actor) or actor.role == Role.RESELLER):
        raise PermissionDenied(_("Only staff and resellers register webhooks."))


def _check(errors, url, events, description):
    if url is not UNSET:
        try:
            URLValidator(schemes=["http", "https"])(url or "")
            addresses.resolve(url)
        except ValidationError:
            errors["url"] = _("Enter a valid http:// or https:// URL.")
        except addresses.NotAllowed as exc:
            errors["url"] = str(exc)
        if len(url or "") > 500:
            errors["url"] = _("At most %(count)d characters.") % {"count": 500}
    if events is not UNSET:
        unknown = [e for e in events or () if e not in EVENT_TYPES]
        if not events or unknown:
            errors["events"] = _("Choose one or more of: %(values)s.") % {"values": ", ".join(EVENT_TYPES)}
    if description is not UNSET and len(description or "") > 200:
        errors["description"] = _("At most %(count)d characters.") % {"count": 200}


def create_endpoint(*, actor, url, events, description="", is_active=True):
    check_may_have_endpoints(actor)
    errors = {}
    _check(errors, url, list(events or ()), description)
    if errors:
        raise ValidationError(errors)
    return Endpoint.objects.create(
        owner=actor, url=url, events=list(dict.fromkeys(events)), description=description or "", is_active=is_active
    )


def update_endpoint(endpoint, *, actor, url=UNSET, events=UNSET, description=UNSET, is_active=UNSET):
    if not visible_endpoints(actor).filter(pk=endpoint.pk).exists():
        raise Http404("No such endpoint.")
    errors = {}
    _check(errors, url, list(events) if events not in (UNSET, None) else events, description)
    if errors:
        raise ValidationError(errors)
    for field, value in (("url", url), ("description", description), ("is_active", is_active)):
        if value is not UNSET:
            setattr(endpoint, field, value)
    if events is not UNSET:
        endpoint.events = list(dict.fromkeys(events))
    endpoint.save()
    return endpoint


def delete_endpoint(endpoint, *, actor):
    if not visible_endpoints(actor).filter(pk=endpoint.pk).exists():
        raise Http404("No such endpoint.")
    endpoint.delete()


def resend(delivery, *, actor):
    """Send `delivery`'s event to its endpoint again, now, as a new delivery (the log keeps both)."""
    if not visible_deliveries(actor).filter(pk=delivery.pk).exists():
        raise Http404("No such delivery.")
    if not delivery.endpoint.is_active:
        raise ValidationError({"endpoint": _("The endpoint is turned off.")})
    again = Delivery.objects.create(endpoint=delivery.endpoint, event=delivery.event, resent_from=delivery)
    transaction.on_commit(lambda: queue(again))
    return again
