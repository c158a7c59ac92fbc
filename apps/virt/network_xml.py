"""libvirt network XML from a ``NetworkSpec`` (pure: no libvirt here)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .types import NetworkSpec

FORWARD_MODES = (None, "nat", "route", "bridge")


def build_network_xml(spec: NetworkSpec) -> str:
    """Network XML for ``spec``. Raises ``ValueError`` for an unusable spec."""
    if spec.forward not in FORWARD_MODES:
        raise ValueError(f"unknown forward mode {spec.forward!r}")
    root = ET.Element("network")
    ET.SubElement(root, "name").text = spec.name
    if spec.forward == "bridge":
        # Onto an existing host bridge: libvirt takes no addresses and runs no DNS for it.
        if not spec.bridge:
            raise ValueError("a bridged network needs the host bridge's name")
        if spec.ips:
            raise ValueError("a bridged network has no host-side address")
        ET.SubElement(root, "forward", mode="bridge")
        ET.SubElement(root, "bridge", name=spec.bridge)
        return ET.tostring(root, encoding="unicode")
    if spec.forward:
        ET.SubElement(root, "forward", mode=spec.forward)
    bridge = {"stp": "on", "delay": "0"}
    if spec.bridge:
        bridge = {"name": spec.bridge, **bridge}
    ET.SubElement(root, "bridge", **bridge)
    # No DNS server, no DHCP: guests get static addresses and their DNS servers from the panel.
    ET.SubElement(root, "dns", enable="no")
    for ip in spec.ips:
        attrs = {"address": ip.address, "prefix": str(ip.prefix)}
        if ip.family == "ipv6":
            attrs = {"family": "ipv6", **attrs}
        ET.SubElement(root, "ip", **attrs)
    return ET.tostring(root, encoding="unicode")
