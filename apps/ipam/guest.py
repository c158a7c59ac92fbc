"""What a VM's addresses mean for its guest and its interface: the static network
configuration injected at deploy (apps.vms.guest_config turns it into a systemd-networkd unit
or cloud-init network-config v2) and the anti-spoofing filter bound to its NIC."""

import ipaddress

from apps.ipam.allocation import addresses_of
from apps.virt.domain_xml import DUAL_STACK_FILTER
from apps.virt.types import NicSpec

IPV4_FILTER = "clean-traffic"


def guest_network(addresses):
    """{"addresses": [cidr, ...], "gateway", "gateway6", "dns", "onlink"} for `addresses`
    (Address rows), or None when there are none. "onlink" lists the gateways outside every
    subnet the guest configures (a routed /64's gateway is not in the /64): the guest must
    reach them on the link without a route to their subnet."""
    if not addresses:
        return None
    config = {"addresses": [a.cidr for a in addresses], "gateway": None, "gateway6": None, "dns": [], "onlink": []}
    for a in addresses:
        key = "gateway" if a.pool.version == 4 else "gateway6"
        if a.pool.gateway and config[key] is None:
            config[key] = a.pool.gateway
        config["dns"] += [d for d in a.pool.dns_servers if d not in config["dns"]]
    subnets = [ipaddress.ip_interface(cidr).network for cidr in config["addresses"]]
    for gateway in (config["gateway"], config["gateway6"]):
        if gateway and not any(ipaddress.ip_address(gateway) in subnet for subnet in subnets):
            config["onlink"].append(gateway)
    return config


def link_local(mac):
    """The EUI-64 link-local IPv6 address of `mac`."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))


def source_prefix(address):
    """(the address or prefix, its length) the guest may send from: a routed /64's whole
    /64, else the one address."""
    if address.pool.per_vm_prefix64:
        network = ipaddress.ip_interface(f"{address.address}/{address.prefixlen}").network
        return str(network.network_address), str(network.prefixlen)
    return address.address, "128"


def filter_for(addresses, mac):
    """(filter name, parameters) binding the interface with `mac` to `addresses`. With IPv6
    the dual-stack filter gets each IPV6 value with an IPV6_PREFIX at the same place (libvirt
    iterates the two in lockstep): 128 for an address, 64 for a routed /64."""
    v4 = [a.address for a in addresses if a.pool.version == 4]
    v6 = [source_prefix(a) for a in addresses if a.pool.version == 6]
    params = [("IP", ip) for ip in v4]
    if not v6:
        return IPV4_FILTER, tuple(params)
    if mac:
        v6.append((link_local(mac), "128"))
    params += [("IPV6", ip) for ip, _length in v6]
    params += [("IPV6_PREFIX", length) for _ip, length in v6]
    return DUAL_STACK_FILTER, tuple(params)


def nic_for(vm):
    """The NIC of a VM with public addresses (on their network, with the filter), or None."""
    addresses = addresses_of(vm)
    if not addresses:
        return None
    network = addresses[0].pool.network
    name, params = filter_for(addresses, vm.mac_address)
    return NicSpec(
        network=network.libvirt_network or None,
        bridge=None if network.libvirt_network else network.bridge,
        mac=vm.mac_address or None,
        filter=name,
        filter_params=params,
    )
