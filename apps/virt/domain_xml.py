"""Pure XML builders and parsers for domains, volumes, pools and capabilities.

No libvirt import: everything here is testable without a hypervisor. Builders
return an XML string; parsers take libvirt's XML and raise ``ValueError`` when
it is not XML of the expected kind.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .types import DiskSpec, DomainSpec, NicSpec, ParsedDomain

GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"

# libvirt's scaled-integer units (docs: formatdomain "memory" / formatstorage).
_UNITS = {
    "b": 1, "bytes": 1,
    "kb": 10**3, "k": 2**10, "kib": 2**10,
    "mb": 10**6, "m": 2**20, "mib": 2**20,
    "gb": 10**9, "g": 2**30, "gib": 2**30,
    "tb": 10**12, "t": 2**40, "tib": 2**40,
}  # fmt: skip


def _to_bytes(el: ET.Element | None, default_unit: str) -> int:
    if el is None or not (el.text or "").strip():
        return 0
    unit = (el.get("unit") or default_unit).lower()
    if unit not in _UNITS:
        raise ValueError(f"unknown size unit {unit!r}")
    return int(el.text.strip()) * _UNITS[unit]


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _tostring(root: ET.Element) -> str:
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _parse(xml: str, root_tag: str) -> ET.Element:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise ValueError(f"invalid XML: {e}") from e
    if root.tag != root_tag:
        raise ValueError(f"expected <{root_tag}>, got <{root.tag}>")
    return root


# --- domains ---------------------------------------------------------------


def _disk(devices: ET.Element, d: DiskSpec) -> None:
    if d.path is None and d.device != "cdrom":
        raise ValueError(f"disk {d.target} has no path (only a cdrom may be empty)")
    # Block devices need type='block' and source dev=, files type='file'.
    is_block = bool(d.path and d.path.startswith("/dev/"))
    disk = _sub(devices, "disk", type="block" if is_block else "file", device=d.device)
    _sub(disk, "driver", name="qemu", type=d.format)
    if d.path is not None:
        _sub(disk, "source", **({"dev": d.path} if is_block else {"file": d.path}))
    _sub(disk, "target", dev=d.target, bus=d.bus)
    if d.readonly or d.device == "cdrom":
        _sub(disk, "readonly")


def _nic(devices: ET.Element, n: NicSpec) -> None:
    iface = _sub(devices, "interface", type="bridge" if n.bridge else "network")
    if n.mac:
        _sub(iface, "mac", address=n.mac)
    if n.bridge:
        _sub(iface, "source", bridge=n.bridge)
    else:
        _sub(iface, "source", network=n.network or "default")
    _sub(iface, "model", type=n.model)
    if n.filter:
        _filterref(iface, n)


def _filterref(parent: ET.Element, n: NicSpec) -> ET.Element:
    ref = _sub(parent, "filterref", filter=n.filter)
    for name, value in n.filter_params:
        _sub(ref, "parameter", name=name, value=value)
    return ref


def with_interface_filter(xml: str, mac: str, filter_name: str, params: tuple[tuple[str, str], ...]) -> str | None:
    """The ``<interface>`` with ``mac`` of domain ``xml``, its ``<filterref>`` replaced by
    ``filter_name`` with ``params``, as XML text; None when no interface has that MAC."""
    root = _parse(xml, "domain")
    for iface in root.findall("devices/interface"):
        mac_el = iface.find("mac")
        if mac_el is not None and (mac_el.get("address") or "").lower() == mac.lower():
            old = iface.find("filterref")
            if old is not None:
                iface.remove(old)
            _filterref(iface, NicSpec(filter=filter_name, filter_params=tuple(params)))
            return ET.tostring(iface, encoding="unicode")
    return None


def replace_interface(xml: str, interface_xml: str) -> str:
    """Domain ``xml`` with the interface of ``interface_xml``'s MAC replaced by it."""
    root = _parse(xml, "domain")
    new = ET.fromstring(interface_xml)
    mac = new.find("mac").get("address").lower()
    devices = root.find("devices")
    for index, iface in enumerate(list(devices)):
        mac_el = iface.find("mac") if iface.tag == "interface" else None
        if mac_el is not None and (mac_el.get("address") or "").lower() == mac:
            devices.remove(iface)
            devices.insert(index, new)
            break
    return ET.tostring(root, encoding="unicode")


# Dual-stack anti-spoofing (libvirt ships none: clean-traffic drops all IPv6). The IPv6
# accept rule's priority must be above -610, the ipv6-ip chain's (../shared/docs/NETWORK-AND-CONSOLE.md).
# Its IPv6 part is the panel's own IPV6_SPOOF_FILTER: libvirt's no-ipv6-spoofing allows exact
# addresses only, this one each IPV6 value with the prefix length of the IPV6_PREFIX value at
# the same place (128: that address; 64: the whole /64 routed to the VM), so a VM may send
# from any address of its /64 and from no other. A new name, not a redefinition of the first
# version ("vmm-clean-traffic-dual", bound without IPV6_PREFIX): redefining that one would
# leave the bindings of running guests with a variable they lack.
DUAL_STACK_FILTER = "vmm-clean-traffic-dual-v2"
IPV6_SPOOF_FILTER = "vmm-no-ipv6-spoofing"


# ICMPv6 types (RFC 4861, RFC 3810).
ROUTER_SOLICITATION, ROUTER_ADVERTISEMENT, NEIGHBOR_SOLICITATION, REDIRECT, MLD2_REPORT = 133, 134, 135, 137, 143
# What a guest sends from the unspecified address (::) before it has one: duplicate address
# detection's neighbour solicitations, the MLD reports joining their solicited-node groups, and
# router solicitations (RFC 4862 5.4.2, RFC 3810 5.2.13, RFC 4861 4.1).
FROM_UNSPECIFIED = (NEIGHBOR_SOLICITATION, MLD2_REPORT, ROUTER_SOLICITATION)
# What no guest sends on the provider's link, from whatever address: the router's messages.
ROUTER_ONLY = (ROUTER_ADVERTISEMENT, REDIRECT)


def build_ipv6_spoof_filter_xml(uuid: str | None = None) -> str:
    """Outgoing IPv6 only from the interface's IPV6[i]/IPV6_PREFIX[i] (iterated in lockstep),
    UDP from link-local addresses (DHCPv6, as libvirt's no-ipv6-spoofing) and duplicate
    address detection's ICMPv6 from ::; router advertisements and redirects never (a guest
    is no router of its neighbours); the rest dropped."""
    root = ET.Element("filter", name=IPV6_SPOOF_FILTER, chain="ipv6-ip", priority="-610")
    if uuid:
        _sub(root, "uuid", uuid)
    for icmp_type in ROUTER_ONLY:
        rule = _sub(root, "rule", action="drop", direction="out", priority="50")
        _sub(rule, "ipv6", protocol="icmpv6", type=str(icmp_type))
    link_local = _sub(root, "rule", action="return", direction="out", priority="100")
    _sub(link_local, "ipv6", srcipaddr="FE80::", srcipmask="10", protocol="udp")
    for icmp_type in FROM_UNSPECIFIED:
        rule = _sub(root, "rule", action="return", direction="out", priority="200")
        _sub(rule, "ipv6", srcipaddr="::", srcipmask="128", protocol="icmpv6", type=str(icmp_type))
    own = _sub(root, "rule", action="return", direction="out", priority="500")
    _sub(own, "ipv6", srcipaddr="$IPV6[@1]", srcipmask="$IPV6_PREFIX[@1]")
    _sub(root, "rule", action="drop", direction="out", priority="1000")
    return _tostring(root)


def build_dual_stack_filter_xml(uuid: str | None = None) -> str:
    root = ET.Element("filter", name=DUAL_STACK_FILTER, chain="root")
    if uuid:
        _sub(root, "uuid", uuid)
    for name in ("no-mac-spoofing", "no-ip-spoofing", IPV6_SPOOF_FILTER):
        _sub(root, "filterref", filter=name)
    _sub(_sub(root, "rule", action="accept", direction="out", priority="-650"), "mac", protocolid="ipv4")
    _sub(_sub(root, "rule", action="accept", direction="out", priority="-605"), "mac", protocolid="ipv6")
    for name in ("allow-incoming-ipv4", "allow-incoming-ipv6", "no-arp-spoofing"):
        _sub(root, "filterref", filter=name)
    _sub(_sub(root, "rule", action="accept", direction="inout", priority="-500"), "mac", protocolid="arp")
    for name in ("no-other-l2-traffic", "qemu-announce-self"):
        _sub(root, "filterref", filter=name)
    return _tostring(root)


def build_domain_xml(spec: DomainSpec) -> str:
    """Domain XML for ``spec``. Returns a string; raises ``ValueError`` for an unusable spec."""
    root = ET.Element("domain", type=spec.domain_type)
    _sub(root, "name", spec.name)
    if spec.uuid:
        _sub(root, "uuid", spec.uuid)
    _sub(root, "memory", str(spec.max_memory_mb or spec.memory_mb), unit="MiB")
    _sub(root, "currentMemory", str(spec.memory_mb), unit="MiB")
    vcpu = _sub(root, "vcpu", str(spec.max_vcpus or spec.vcpus), placement="static")
    if spec.max_vcpus:
        vcpu.set("current", str(spec.vcpus))

    os_el = _sub(root, "os")
    _sub(os_el, "type", "hvm", arch=spec.arch, machine=spec.machine)
    if spec.kernel:
        _sub(os_el, "kernel", spec.kernel)
        if spec.initrd:
            _sub(os_el, "initrd", spec.initrd)
        if spec.cmdline:
            _sub(os_el, "cmdline", spec.cmdline)
    else:
        for dev in spec.boot:
            _sub(os_el, "boot", dev=dev)

    # ACPI is what makes graceful shutdown (virDomainShutdown) possible.
    features = _sub(root, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    if spec.cpu_xml:
        root.append(_cpu_element(spec.cpu_xml))
    _sub(root, "clock", offset="utc")
    # A guest powering itself off must end up shutoff, not rebooted.
    _sub(root, "on_poweroff", "destroy")
    _sub(root, "on_reboot", "restart")
    _sub(root, "on_crash", "destroy")

    devices = _sub(root, "devices")
    for d in spec.disks:
        _disk(devices, d)
    for n in spec.nics:
        _nic(devices, n)
    # The serial console is a pty, so that libvirt can stream it (virDomainOpenConsole: the
    # panel's web console); with a log file its output is also kept there, readable without
    # a console client, even on remote hosts through their log folder.
    serial = _sub(devices, "serial", type="pty")
    if spec.serial_log_path:
        _sub(serial, "log", file=spec.serial_log_path, append="on")
    _sub(serial, "target", port="0")
    _sub(_sub(devices, "console", type="pty"), "target", type="serial", port="0")
    if spec.vnc_password is not None:
        # Graphical console: VNC on `vnc_listen` (loopback for the local host), a free port
        # chosen at each start (read back from the live XML), and a password of its own.
        attrs = {"port": "-1", "autoport": "yes", "listen": spec.vnc_listen, "passwd": spec.vnc_password}
        _sub(devices, "graphics", type="vnc", **attrs)
        _sub(_sub(devices, "video"), "model", type="vga")
    if spec.guest_agent:
        channel = _sub(devices, "channel", type="unix")
        _sub(channel, "target", type="virtio", name=GUEST_AGENT_CHANNEL)
    return _tostring(root)


def _parse_disk(el: ET.Element) -> DiskSpec:
    source = el.find("source")
    path = None
    if source is not None:
        path = source.get("file") or source.get("dev") or source.get("name")
    driver = el.find("driver")
    target = el.find("target")
    return DiskSpec(
        path=path,
        format=(driver.get("type") if driver is not None else None) or "raw",
        target=target.get("dev", "") if target is not None else "",
        bus=target.get("bus", "") if target is not None else "",
        readonly=el.find("readonly") is not None,
        device=el.get("device", "disk"),
    )


def _parse_nic(el: ET.Element) -> NicSpec:
    mac = el.find("mac")
    source = el.find("source")
    model = el.find("model")
    ref = el.find("filterref")
    return NicSpec(
        # Only type='network' interfaces have a network; bridges etc. give None.
        network=source.get("network") if source is not None else None,
        mac=mac.get("address") if mac is not None else None,
        model=model.get("type", "") if model is not None else "",
        bridge=source.get("bridge") if source is not None else None,
        filter=ref.get("filter") if ref is not None else None,
        filter_params=tuple((p.get("name", ""), p.get("value", "")) for p in ref.findall("parameter"))
        if ref is not None
        else (),
    )


def parse_domain_xml(xml: str) -> ParsedDomain:
    """Read the fields we care about from any domain XML. Raises ``ValueError`` if it is not one."""
    root = _parse(xml, "domain")
    os_type = root.find("os/type")
    serial_log = None
    for el in root.findall("devices/serial") + root.findall("devices/console"):
        source, logged = el.find("source"), el.find("log")
        if logged is not None and logged.get("file"):
            serial_log = logged.get("file")
            break
        if el.get("type") == "file" and source is not None and source.get("path"):
            serial_log = source.get("path")
            break
    vnc = root.find("devices/graphics[@type='vnc']")
    agent = any(
        (t := ch.find("target")) is not None and t.get("name") == GUEST_AGENT_CHANNEL
        for ch in root.findall("devices/channel")
    )
    return ParsedDomain(
        name=root.findtext("name", ""),
        uuid=root.findtext("uuid"),
        domain_type=root.get("type", ""),
        vcpus=int(root.findtext("vcpu", "0").strip() or 0),
        memory_mb=_to_bytes(root.find("memory"), "KiB") // 2**20,
        disks=tuple(_parse_disk(d) for d in root.findall("devices/disk")),
        nics=tuple(_parse_nic(n) for n in root.findall("devices/interface")),
        kernel=root.findtext("os/kernel"),
        initrd=root.findtext("os/initrd"),
        cmdline=root.findtext("os/cmdline"),
        serial_log_path=serial_log,
        guest_agent=agent,
        vnc_password=vnc.get("passwd") if vnc is not None else None,
        machine=os_type.get("machine") if os_type is not None else None,
        arch=os_type.get("arch") if os_type is not None else None,
    )


def with_console_devices(xml: str, vnc_password: str, vnc_listen: str = "127.0.0.1") -> str | None:
    """A domain's persistent XML upgraded for the web consoles, or None if it needs nothing:
    a serial/console written to a file becomes a pty logged to the same file, and a domain
    without graphics gets a VNC display with ``vnc_password`` on ``vnc_listen`` (and a VGA card
    if it has no video), and a VNC display listening elsewhere than ``vnc_listen`` moves there.
    Domains defined before the consoles existed gain them at their next start, and those of a
    host whose VNC listen address changed follow it at their next start."""
    root = _parse(xml, "domain")
    devices = root.find("devices")
    if devices is None:
        raise ValueError("domain XML without <devices>")
    changed = False
    for el in devices.findall("serial") + devices.findall("console"):
        source = el.find("source")
        if el.get("type") != "file":
            continue
        path = source.get("path") if source is not None else None
        el.set("type", "pty")
        if source is not None:
            el.remove(source)
        if path and el.tag == "serial" and el.find("log") is None:
            el.insert(0, ET.Element("log", {"file": path, "append": "on"}))
        changed = True
    vnc = devices.find("graphics[@type='vnc']")
    if devices.find("graphics") is None:
        attrs = {"port": "-1", "autoport": "yes", "listen": vnc_listen, "passwd": vnc_password}
        _sub(devices, "graphics", type="vnc", **attrs)
        if devices.find("video") is None:
            _sub(_sub(devices, "video"), "model", type="vga")
        changed = True
    elif vnc is not None and vnc.get("listen") != vnc_listen:
        # The host's listen address changed: libvirt wants the attribute and the first
        # <listen type='address'> to agree.
        vnc.set("listen", vnc_listen)
        for listen in vnc.findall("listen[@type='address']"):
            listen.set("address", vnc_listen)
        changed = True
    return _tostring(root) if changed else None


def _cpu_element(cpu_xml: str) -> ET.Element:
    cpu = _parse(cpu_xml, "cpu")
    if cpu.get("mode", "custom") != "custom" or cpu.find("model") is None:
        raise ValueError("a guest CPU here is a custom CPU with a model (a baseline)")
    return cpu


def _cpu_signature(cpu: ET.Element | None) -> tuple | None:
    """What makes two ``<cpu>`` elements the same guest CPU (libvirt adds attributes such as
    check= and may reorder the features of what it was given)."""
    if cpu is None:
        return None
    model = cpu.find("model")
    features = frozenset((f.get("policy", "require"), f.get("name")) for f in cpu.findall("feature"))
    return (
        cpu.get("mode", "custom"),
        (model.text or "").strip() if model is not None else "",
        cpu.findtext("vendor", "").strip(),
        features,
    )


def cpu_model_name(cpu_xml: str) -> str:
    """The model name of a ``<cpu>`` element (``EPYC``), or "" for an empty or odd one."""
    if not cpu_xml:
        return ""
    try:
        return (_parse(cpu_xml, "cpu").findtext("model") or "").strip()
    except ValueError:
        return ""


def with_cpu(xml: str, cpu_xml: str) -> str | None:
    """A domain's persistent XML with its ``<cpu>`` replaced by ``cpu_xml`` (its cluster's
    baseline), or None if it has that CPU already. Domains defined before the baseline (or
    under another one) get it at their next start from the panel."""
    root = _parse(xml, "domain")
    wanted = _cpu_element(cpu_xml)
    old = root.find("cpu")
    if _cpu_signature(old) == _cpu_signature(wanted):
        return None
    if old is not None:
        index = list(root).index(old)
        root.remove(old)
    else:
        features = root.find("features")
        index = list(root).index(features) + 1 if features is not None else len(root)
    root.insert(index, wanted)
    return _tostring(root)


def with_direct_boot(xml: str, kernel: str, initrd: str, cmdline: str) -> str:
    """A domain's persistent XML booting ``kernel`` with ``initrd`` and ``cmdline`` (libvirt's
    direct kernel boot), its disks and devices as they are: the rescue system of
    apps.vms.rescue. A direct boot already there is replaced."""
    root = _parse(xml, "domain")
    os_el = root.find("os")
    if os_el is None:
        raise ValueError("domain XML without <os>")
    for tag in ("kernel", "initrd", "cmdline"):
        for el in os_el.findall(tag):
            os_el.remove(el)
    after = os_el.find("type")
    index = list(os_el).index(after) + 1 if after is not None else 0
    for offset, (tag, text) in enumerate((("kernel", kernel), ("initrd", initrd), ("cmdline", cmdline))):
        el = ET.Element(tag)
        el.text = text
        os_el.insert(index + offset, el)
    return _tostring(root)


def without_direct_boot(xml: str) -> str | None:
    """A domain's persistent XML booting its own disk again (no kernel, initrd or cmdline), or
    None when it has no direct boot."""
    root = _parse(xml, "domain")
    os_el = root.find("os")
    found = [el for tag in ("kernel", "initrd", "cmdline") for el in (os_el.findall(tag) if os_el is not None else [])]
    if not found:
        return None
    for el in found:
        os_el.remove(el)
    if os_el.find("boot") is None and root.find("devices/*/boot") is None:
        _sub(os_el, "boot", dev="hd")
    return _tostring(root)


def parse_vnc_display(xml: str) -> tuple[str, int] | None:
    """``(listen address, port)`` of the VNC server in a running domain's live XML, or None
    when it has none (or no port yet)."""
    vnc = _parse(xml, "domain").find("devices/graphics[@type='vnc']")
    if vnc is None or not vnc.get("port", "").isdigit() or int(vnc.get("port")) <= 0:
        return None
    return vnc.get("listen") or "127.0.0.1", int(vnc.get("port"))


# --- storage ---------------------------------------------------------------


def build_volume_xml(
    name: str,
    capacity_bytes: int,
    format: str = "qcow2",
    backing_path: str | None = None,
    backing_format: str | None = None,
) -> str:
    """Volume XML; with ``backing_path`` it is a linked clone (copy-on-write overlay). A qcow2
    is made version 3 (``compat`` 1.1; libvirt's default is 0.10, version 2, which cannot keep
    the dirty bitmaps of backup checkpoints)."""
    root = ET.Element("volume")
    _sub(root, "name", name)
    _sub(root, "capacity", str(int(capacity_bytes)), unit="bytes")
    # Allocation 0: sparse / no preallocation, creation is instant at any size.
    _sub(root, "allocation", "0", unit="bytes")
    target = _sub(root, "target")
    _sub(target, "format", type=format)
    if format == "qcow2":
        _sub(target, "compat", "1.1")
    if backing_path:
        backing = _sub(root, "backingStore")
        _sub(backing, "path", backing_path)
        # Always state the backing format: qemu refuses to probe it (security).
        _sub(backing, "format", type=backing_format or "qcow2")
    return _tostring(root)


def parse_volume_xml(xml: str) -> dict:
    """``{name, path, format, capacity_bytes, allocation_bytes, backing_path}`` from volume XML."""
    root = _parse(xml, "volume")
    fmt = root.find("target/format")
    return {
        "name": root.findtext("name", ""),
        "path": root.findtext("target/path", ""),
        "format": fmt.get("type") if fmt is not None else None,
        "capacity_bytes": _to_bytes(root.find("capacity"), "bytes"),
        "allocation_bytes": _to_bytes(root.find("allocation"), "bytes"),
        "backing_path": root.findtext("backingStore/path") or None,
    }


def build_pool_xml(name: str, path: str) -> str:
    """XML of a directory storage pool ``name`` at ``path``."""
    root = ET.Element("pool", type="dir")
    _sub(root, "name", name)
    _sub(_sub(root, "target"), "path", path)
    return _tostring(root)


def parse_pool_path(xml: str) -> str | None:
    """The target path of a pool's XML (``None`` for pools without one)."""
    return _parse(xml, "pool").findtext("target/path")


def parse_capabilities(xml: str) -> tuple[str, tuple[str, ...]]:
    """``(host arch, domain types)`` from ``getCapabilities()`` XML.

    Domain types are those offered for guests of the host's arch (all guests
    if none match), in document order without duplicates.
    """
    root = _parse(xml, "capabilities")
    arch = root.findtext("host/cpu/arch", "")
    types: list[str] = []
    guests = root.findall("guest")
    native = [g for g in guests if (a := g.find("arch")) is not None and a.get("name") == arch]
    for guest in native or guests:
        for dom in guest.findall("arch/domain"):
            t = dom.get("type")
            if t and t not in types:
                types.append(t)
    return arch, tuple(types)
