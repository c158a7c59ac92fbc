"""Where the panel may send webhooks (SSRF): an http(s) URL whose every resolved address is
public, or in VMM_WEBHOOK_ALLOWED_NETWORKS. Checked when an endpoint is saved and again at
each delivery, which then connects to the address it checked (DNS rebinding)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class NotAllowed(Exception):
    pass


def allowed_networks():
    return [ipaddress.ip_network(net, strict=False) for net in settings.VMM_WEBHOOK_ALLOWED_NETWORKS]


def address_allowed(address):
    ip = ipaddress.ip_address(address)
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed_networks()):
        return True
    return settings.VMM_WEBHOOK_ALLOW_PUBLIC and ip.is_global and not ip.is_multicast


def resolve(url):
    """(scheme, host, port, [addresses]) for `url`, every address allowed; NotAllowed (with a
    message a user can read) otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise NotAllowed(_("Not a valid URL.")) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotAllowed(_("Use an http:// or https:// URL."))
    if parts.username or parts.password:
        raise NotAllowed(_("Credentials in the URL are not allowed: use the signature to authenticate."))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NotAllowed(_("The host name %(host)s does not resolve.") % {"host": parts.hostname}) from exc
    addresses = sorted({info[4][0] for info in infos})
    refused = [a for a in addresses if not address_allowed(a)]
    if refused or not addresses:
        raise NotAllowed(
            _("%(host)s resolves to %(address)s, which webhooks may not be sent to.")
            % {"host": parts.hostname, "address": ", ".join(refused)}
        )
    return parts.scheme, parts.hostname, port, addresses
