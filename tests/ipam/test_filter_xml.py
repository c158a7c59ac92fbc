"""The anti-spoofing XML the driver sends libvirt: the interface's filterref with its
parameters, and the dual-stack filter whose IPv6 accept rule must come after the ipv6-ip
chain (priority above -610), or the anti-spoof chain would never be reached."""

import ipaddress
import xml.etree.ElementTree as ET
from types import SimpleNamespace

from apps.ipam.guest import filter_for
from apps.ipam.models import Ipv6Mode
from apps.virt.domain_xml import (
    DUAL_STACK_FILTER,
    IPV6_SPOOF_FILTER,
    MLD2_REPORT,
    NEIGHBOR_SOLICITATION,
    REDIRECT,
    ROUTER_ADVERTISEMENT,
    ROUTER_SOLICITATION,
    build_domain_xml,
    build_dual_stack_filter_xml,
    build_ipv6_spoof_filter_xml,
)
from apps.virt.types import DomainSpec, NicSpec

NEIGHBOR_ADVERTISEMENT = 136


def test_the_interface_carries_the_filter_and_each_parameter():
    nic = NicSpec(
        bridge="br-public",
        mac="52:54:00:00:02:0b",
        filter="clean-traffic",
        filter_params=(("IP", "198.51.100.11"), ("IP", "203.0.113.11")),
    )
    spec = DomainSpec(name="d", domain_type="qemu", vcpus=1, memory_mb=256, nics=(nic,))
    root = ET.fromstring(build_domain_xml(spec))
    iface = root.find("devices/interface")
    assert iface.get("type") == "bridge" and iface.find("source").get("bridge") == "br-public"
    ref = iface.find("filterref")
    assert ref.get("filter") == "clean-traffic"
    assert [(p.get("name"), p.get("value")) for p in ref.findall("parameter")] == list(nic.filter_params)


def test_the_dual_stack_filter_accepts_ipv6_only_after_the_anti_spoof_chain():
    root = ET.fromstring(build_dual_stack_filter_xml("5b5a8c5e-0000-4000-8000-000000000001"))
    assert root.get("name") == DUAL_STACK_FILTER and root.findtext("uuid").startswith("5b5a8c5e")
    refs = [ref.get("filter") for ref in root.findall("filterref")]
    assert {"no-mac-spoofing", "no-ip-spoofing", IPV6_SPOOF_FILTER, "no-arp-spoofing", "no-other-l2-traffic"} <= set(
        refs
    )
    assert "no-ipv6-spoofing" not in refs  # libvirt's: exact addresses only
    accepts = {rule.find("mac").get("protocolid"): int(rule.get("priority")) for rule in root.findall("rule")}
    assert accepts["ipv6"] > -610 and accepts["ipv4"] < -600


def sends(filter_xml, params, source, protocol="tcp", icmp_type=None):
    """Whether the IPv6 spoofing filter lets an outgoing packet from `source` through (TCP, or
    ICMPv6 of `icmp_type`), read the way libvirt reads it: rules by priority, the first that
    matches decides; variables written `$NAME[@1]` are iterated in lockstep (the i-th IPV6
    with the i-th IPV6_PREFIX), one rule per pair."""
    root = ET.fromstring(filter_xml)
    values = {}
    for name, value in params:
        values.setdefault(name, []).append(value)
    source = ipaddress.ip_address(source)
    for rule in sorted(root.findall("rule"), key=lambda r: int(r.get("priority"))):
        match = rule.find("ipv6")
        if match is None:  # the last rule: drop everything else
            return rule.get("action") != "drop"
        if match.get("protocol") not in (None, protocol):
            continue
        if match.get("type") is not None and int(match.get("type")) != icmp_type:
            continue
        addr, mask = match.get("srcipaddr"), match.get("srcipmask")
        if addr is None:
            matched = True
        elif addr.startswith("$"):
            assert addr == "$IPV6[@1]" and mask == "$IPV6_PREFIX[@1]"
            assert len(values["IPV6"]) == len(values["IPV6_PREFIX"])  # libvirt refuses lists of unequal length
            pairs = zip(values["IPV6"], values["IPV6_PREFIX"], strict=True)
            matched = any(source in ipaddress.ip_network(f"{ip}/{length}") for ip, length in pairs)
        else:
            matched = source in ipaddress.ip_network(f"{addr}/{mask}")
        if matched:
            return rule.get("action") == "return"
    return False


def address(addr, prefixlen, mode):
    pool = SimpleNamespace(version=6, per_vm_prefix64=mode == Ipv6Mode.PREFIX64)
    return SimpleNamespace(address=addr, prefixlen=prefixlen, pool=pool)


def test_a_routed_64_may_send_from_any_of_its_addresses_and_from_no_other():
    xml = build_ipv6_spoof_filter_xml()
    root = ET.fromstring(xml)
    assert (root.get("name"), root.get("chain"), root.get("priority")) == (IPV6_SPOOF_FILTER, "ipv6-ip", "-610")
    name, params = filter_for([address("2001:db8:0:1::1", 64, Ipv6Mode.PREFIX64)], "52:54:00:00:02:0b")
    assert name == DUAL_STACK_FILTER
    for own in ("2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff:ffff:ffff:ffff", "fe80::5054:ff:fe00:20b"):
        assert sends(xml, params, own), own
    for other in ("2001:db8:0:2::1", "2001:db8::1", "2001:db8:0:0:ffff::1", "fe80::1"):
        assert not sends(xml, params, other), other


def test_a_single_ipv6_address_may_send_from_that_address_only():
    xml = build_ipv6_spoof_filter_xml()
    _name, params = filter_for([address("2001:db8::11", 48, Ipv6Mode.SINGLE)], "52:54:00:00:02:0b")
    assert sends(xml, params, "2001:db8::11")
    assert not sends(xml, params, "2001:db8::10") and not sends(xml, params, "2001:db8::12")


def test_duplicate_address_detection_passes_and_router_messages_do_not():
    xml = build_ipv6_spoof_filter_xml()
    _name, params = filter_for([address("2001:db8:0:1::1", 64, Ipv6Mode.PREFIX64)], "52:54:00:00:02:0b")
    # Before it has an address the guest probes from :: (DAD), joins the solicited-node group
    # and asks for routers; only those ICMPv6 messages pass from ::.
    for icmp_type in (NEIGHBOR_SOLICITATION, MLD2_REPORT, ROUTER_SOLICITATION):
        assert sends(xml, params, "::", "icmpv6", icmp_type), icmp_type
    assert not sends(xml, params, "::", "icmpv6", 128)  # an echo request from nobody
    assert not sends(xml, params, "::")
    # Neighbour discovery from its own addresses and its link-local address passes.
    for own in ("2001:db8:0:1::1", "2001:db8:0:1::99", "fe80::5054:ff:fe00:20b"):
        for icmp_type in (NEIGHBOR_SOLICITATION, NEIGHBOR_ADVERTISEMENT, ROUTER_SOLICITATION):
            assert sends(xml, params, own, "icmpv6", icmp_type), (own, icmp_type)
    assert not sends(xml, params, "2001:db8:0:2::1", "icmpv6", NEIGHBOR_ADVERTISEMENT)  # a neighbour's
    # A guest is no router on the provider's link: no router advertisements or redirects,
    # not even from its own addresses.
    for source in ("fe80::5054:ff:fe00:20b", "2001:db8:0:1::1"):
        assert not sends(xml, params, source, "icmpv6", ROUTER_ADVERTISEMENT)
        assert not sends(xml, params, source, "icmpv6", REDIRECT)
