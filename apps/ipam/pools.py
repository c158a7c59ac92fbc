"""Creating a pool: check its subnet, gateway, DNS servers and ranges, then make one row
per address it may hand out (apps.ipam.models.Address), in the same transaction."""

import ipaddress
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.ipam.models import MAX_POOL_ADDRESSES, Address, Ipv6Mode, Network, Pool

BATCH = 5000


def _ip(errors, field, value, net):
    try:
        ip = ipaddress.ip_address(str(value).strip())
    except ValueError:
        errors[field] = _("%(value)r is not an IP address.") % {"value": value}
        return None
    if net is not None and ip not in net:
        errors[field] = _("%(value)s is not inside %(subnet)s.") % {"value": ip, "subnet": net}
        return None
    return ip


def _parse_ranges(errors, ranges, net):
    parsed = []
    for item in ranges or ():
        try:
            first, last = item
        except (TypeError, ValueError):
            errors["ranges"] = _("Give each range as a first and a last address.")
            return []
        a, b = _ip(errors, "ranges", first, net), _ip(errors, "ranges", last, net)
        if a is None or b is None:
            return []
        if b < a:
            errors["ranges"] = _("A range's last address comes before its first.")
            return []
        parsed.append((a, b))
    return parsed


def candidates(net, gateway, ranges, mode):
    """The addresses (ip, prefixlen) a pool hands out, in order; None when over the limit."""
    if net.version == 6 and mode == Ipv6Mode.PREFIX64:
        if net.prefixlen > 64:
            return None
        count = 2 ** (64 - net.prefixlen)
        if count > MAX_POOL_ADDRESSES:
            return None
        subnets = list(net.subnets(new_prefix=64))
        if gateway is not None:
            subnets = [s for s in subnets if gateway not in s]
        return [(s.network_address + 1, 64) for s in subnets]
    if ranges:
        total = sum(int(b) - int(a) + 1 for a, b in ranges)
        if total > MAX_POOL_ADDRESSES:
            return None
        found = []
        for a, b in ranges:
            found += [ipaddress.ip_address(i) for i in range(int(a), int(b) + 1)]
    else:
        size = net.num_addresses - (2 if net.version == 4 and net.prefixlen < 31 else 1)
        if size > MAX_POOL_ADDRESSES:
            return None
        found = list(net.hosts())
    seen, result = set(), []
    for ip in found:
        if ip != gateway and ip not in seen and ip not in (net.network_address, net.broadcast_address):
            seen.add(ip)
            result.append((ip, net.prefixlen))
    return result


def check_pool(*, network, name, subnet, gateway=None, dns_servers=(), ranges=(), ipv6_mode=Ipv6Mode.SINGLE):
    """Check a new pool's fields. Returns (network, subnet, gateway, dns, ranges, addresses);
    raises ValidationError keyed by field."""
    errors = {}
    if not isinstance(network, Network):
        network = Network.objects.filter(pk=network).first() if isinstance(network, int) else None
        if network is None:
            errors["network"] = ValidationError(_("No such network."), code="does_not_exist")
    if not name or len(name) > 64:
        errors["name"] = _("Give a name of at most 64 characters.")
    elif Pool.objects.filter(name=name).exists():
        errors["name"] = ValidationError(_("A pool with this name exists."), code="unique")
    try:
        net = ipaddress.ip_network(str(subnet or "").strip(), strict=True)
    except ValueError as exc:
        errors["subnet"] = _("Give the subnet in CIDR notation: %(error)s") % {"error": exc}
        net = None
    gw = _ip(errors, "gateway", gateway, net) if gateway else None
    dns = [str(d) for d in (_ip(errors, "dns_servers", d, None) for d in dns_servers or ()) if d is not None]
    parsed = _parse_ranges(errors, ranges, net) if net is not None else []
    if ipv6_mode not in Ipv6Mode.values:
        errors["ipv6_mode"] = ValidationError(_("Choose a /64 per VM or a single address."), code="invalid_choice")
    if errors:
        raise ValidationError(errors)
    found = candidates(net, gw, parsed, ipv6_mode)
    if found is None:
        raise ValidationError(
            {"subnet": _("A pool hands out at most %(max)d addresses: give ranges.") % {"max": MAX_POOL_ADDRESSES}}
        )
    if not found:
        raise ValidationError({"ranges": _("The pool would have no address to hand out.")})
    return network, net, gw, dns, parsed, found


def create_pool(*, network, name, subnet, gateway=None, dns_servers=(), ranges=(), ipv6_mode=Ipv6Mode.SINGLE):
    """Check and create a pool with a row for each address it may hand out. Returns the Pool.
    Raises ValidationError keyed by field."""
    network, net, gw, dns, parsed, found = check_pool(
        network=network,
        name=name,
        subnet=subnet,
        gateway=gateway,
        dns_servers=dns_servers,
        ranges=ranges,
        ipv6_mode=ipv6_mode,
    )
    with transaction.atomic():
        pool = Pool.objects.create(
            network=network,
            name=name,
            subnet=str(net),
            gateway=str(gw) if gw else None,
            dns_servers=dns,
            ranges=[[str(a), str(b)] for a, b in parsed],
            ipv6_mode=ipv6_mode if net.version == 6 else Ipv6Mode.SINGLE,
        )
        rows = (
            Address(pool=pool, position=i, address=str(ip), prefixlen=prefixlen)
            for i, (ip, prefixlen) in enumerate(found)
        )
        while batch := list(islice(rows, BATCH)):
            Address.objects.bulk_create(batch)
    return pool


def usage(pool):
    """{"free", "used", "reserved", "cooling", "total"} for a pool (cooling: released, not yet free)."""
    from apps.ipam.allocation import cooled_before

    rows = Address.objects.filter(pool=pool)
    total = rows.count()
    used = rows.filter(vm__isnull=False).count()
    reserved = rows.filter(vm__isnull=True, reserved=True).count()
    cooling = rows.filter(vm__isnull=True, reserved=False, released_at__gt=cooled_before()).count()
    return {
        "total": total,
        "used": used,
        "reserved": reserved,
        "cooling": cooling,
        "free": total - used - reserved - cooling,
    }
