"""Reverse DNS names of public addresses: set by whoever may act for the VM holding the
address (or staff), exported as a zone fragment for the provider's DNS
(`manage.py export_reverse_zone`)."""

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from apps.ipam.models import Address
from apps.ipam.selectors import visible_addresses

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
NAME_RE = re.compile(rf"^(?=.{{1,253}}\.?$){_LABEL}(\.{_LABEL})+\.?\Z")


def set_reverse_name(address, name, *, actor):
    """Set the PTR name of `address` (an Address or its id) to `name` ("" clears it).
    Raises Http404 for an address the actor may not see, ValidationError({"reverse_name"})."""
    pk = getattr(address, "pk", address)
    row = visible_addresses(actor).filter(pk=pk).first() if isinstance(pk, int) else None
    if row is None or row.vm_id is None:
        raise Http404(_("No such address."))
    name = (name or "").strip()
    if name and not NAME_RE.match(name):
        raise ValidationError(
            {"reverse_name": _("Give a fully qualified host name, such as mail.example.com, or nothing.")}
        )
    name = name.rstrip(".") + "." if name else ""
    Address.objects.filter(pk=row.pk).update(reverse_name=name)
    row.reverse_name = name
    return row


def zone_lines(rows, ttl=3600):
    """PTR records ("<reverse name> <ttl> IN PTR <name>") of the rows that have a name."""
    lines = []
    for row in rows:
        if row.reverse_name:
            pointer = ipaddress.ip_address(row.address).reverse_pointer
            lines.append(f"{pointer}. {ttl} IN PTR {row.reverse_name}")
    return lines
