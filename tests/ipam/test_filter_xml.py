"""The anti-spoofing XML the driver sends libvirt: the interface's filterref with its
parameters, and the dual-stack filter whose IPv6 accept rule must come after the ipv6-ip
chain (priority above -610), or the anti-spoof chain would never be reached."""

import xml.etree.ElementTree as ET

from apps.virt.domain_xml import DUAL_STACK_FILTER, build_domain_xml, build_dual_stack_filter_xml
from apps.virt.types import DomainSpec, NicSpec


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
    assert {"no-mac-spoofing", "no-ip-spoofing", "no-ipv6-spoofing", "no-arp-spoofing", "no-other-l2-traffic"} <= set(
        refs
    )
    accepts = {rule.find("mac").get("protocolid"): int(rule.get("priority")) for rule in root.findall("rule")}
    assert accepts["ipv6"] > -610 and accepts["ipv4"] < -600
