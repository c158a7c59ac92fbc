"""Making the hosts carry the panel's networks (docs/addresses.md, "Networks on hosts"): the
one place that decides whether the `host_network_setup` job may run, and what libvirt
network a Network and its pools make.

Staff only (PermissionDenied for anyone else): `set_up_on_host` behind both doors (the host
page's Networks card, `POST /api/v1/networks/<id>/setup/ {"host"}`), also started for each
host attached to a network in the admin; `manage.py network setup` runs the same checks and
the job in the console. The job defines the libvirt network from `network_spec` when the host
has none of that name, starts it, and has libvirt start it at boot: safe to run again."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from apps.accounts.tenancy import is_staff_user
from apps.hosts.models import Host
from apps.ipam.models import Network, NetworkKind
from apps.jobs import runner
from apps.virt.types import NetworkIp, NetworkSpec

OPERATION = "host_network_setup"
FORWARD = {
    NetworkKind.ISOLATED: None,
    NetworkKind.NAT: "nat",
    NetworkKind.ROUTED: "route",
    NetworkKind.BRIDGED: "bridge",
}


def network_spec(network):
    """The libvirt network `network` makes on a host: its kind's forward mode; for NAT,
    routed and isolated networks a bridge of its own (named `bridge`, or libvirt's choice)
    with each pool's gateway as the host's address on it (the guests' router), no DHCP and
    no DNS server; a bridged one onto the existing host bridge `bridge`. Raises
    ValidationError on `network` when there is nothing the panel can make."""
    if not network.libvirt_network:
        raise ValidationError(
            {
                "network": _(
                    "Network %(network)s is the host bridge %(bridge)s, not a libvirt network: "
                    "the bridge is made on each host by its operator."
                )
                % {"network": network.name, "bridge": network.bridge}
            }
        )
    forward = FORWARD[network.kind]
    if forward == "bridge":
        if not network.bridge:
            raise ValidationError(
                {
                    "network": _("The bridged network %(network)s names no host bridge to put its guests on.")
                    % {"network": network.name}
                }
            )
        return NetworkSpec(name=network.libvirt_network, forward="bridge", bridge=network.bridge)
    ips, seen = [], set()
    for pool in network.pools.order_by("name"):
        if pool.gateway and pool.gateway not in seen:
            seen.add(pool.gateway)
            family = "ipv6" if pool.version == 6 else "ipv4"
            ips.append(NetworkIp(address=pool.gateway, prefix=pool.ip_network.prefixlen, family=family))
    return NetworkSpec(name=network.libvirt_network, forward=forward, bridge=network.bridge or None, ips=tuple(ips))


def _row(model, value, field, missing):
    """`value` as a row of `model`: the row itself, its id or its name; else a ValidationError
    naming `field`."""
    if isinstance(value, model):
        return value
    key = str(value or "").strip()
    found = model.objects.filter(pk=key).first() if key.isdigit() else model.objects.filter(name=key).first()
    if found is None:
        raise ValidationError({field: ValidationError(missing, code="does_not_exist")})
    return found


def check_setup(network, host):
    """(Network, Host, NetworkSpec) for setting `network` up on `host` (each a row, an id or a
    name). Raises ValidationError naming `network` or `host`."""
    network = _row(Network, network, "network", _("No such network."))
    host = _row(Host, host, "host", _("No such host."))
    if not network.hosts.filter(pk=host.pk).exists():
        raise ValidationError(
            {
                "host": _("Host %(host)s does not carry network %(network)s: attach it to the network first.")
                % {"host": host.name, "network": network.name}
            }
        )
    return network, host, network_spec(network)


def set_up_on_host(actor, network, host, *, request_id=None):
    """Start the job making `host` carry `network`. Returns the Job. Raises PermissionDenied
    for anyone but staff, ValidationError as check_setup."""
    if not is_staff_user(actor):
        raise PermissionDenied(_("Only the provider's staff may set networks up on hosts."))
    network, host, _spec = check_setup(network, host)
    return runner.submit(OPERATION, host, actor=actor, params={"network_id": network.pk}, request_id=request_id)


def set_up_where_attached(actor, network, host_ids):
    """After hosts were attached to `network` (the admin): start the job on each. Returns the
    jobs; none for a network the panel cannot make (a host bridge)."""
    try:
        network_spec(network)
    except ValidationError:
        return []
    return [set_up_on_host(actor, network, host) for host in Host.objects.filter(pk__in=host_ids).order_by("name")]


def carried(host):
    """The managed networks `host` carries, by name (the host page's Networks card)."""
    return list(Network.objects.filter(hosts=host).order_by("name"))
