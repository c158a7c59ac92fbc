"""Domain (VM) operations of the driver. Used through ``driver.Hypervisor``."""

from __future__ import annotations

import base64
import ipaddress
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

import libvirt
import libvirt_qemu

from ._base import Base, retried
from .domain_xml import build_domain_xml, replace_interface, with_interface_filter
from .errors import InvalidState, NotFound, OperationFailed
from .types import INACTIVE_STATES, DomainInfo, DomainSpec, DomainState

_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: DomainState.UNKNOWN,
    libvirt.VIR_DOMAIN_RUNNING: DomainState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: DomainState.BLOCKED,
    libvirt.VIR_DOMAIN_PAUSED: DomainState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: DomainState.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: DomainState.SHUTOFF,
    libvirt.VIR_DOMAIN_CRASHED: DomainState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: DomainState.PMSUSPENDED,
}
# The persistent config as it can be defined again: without SECURE libvirt leaves out the
# VNC password, and a domain defined from that XML would have a console without one.
PERSISTENT_XML = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
_ACTIVE = frozenset(DomainState) - INACTIVE_STATES
_RUNNING = frozenset({DomainState.RUNNING, DomainState.BLOCKED})

_UNDEFINE_FLAG_SETS = (
    # Most thorough first; drivers refuse flags they do not know (the test
    # driver: NVRAM and checkpoints) with INVALID_ARG or NO_SUPPORT.
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM,
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
    0,
)


_SHUTDOWN_REPEAT = 10.0
# A live filter change whose new rules libvirt could not put in place (it then puts the old
# ones back) is tried again after these pauses: the firewall tools can trip over another
# interface's rules being rebuilt at the same moment (ebtables-nft, many guests starting).
FILTER_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)


def _ask_to_shut_down(dom: libvirt.virDomain) -> None:
    for flags in (libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT):
        try:
            dom.shutdownFlags(flags)
        except libvirt.libvirtError:
            pass  # no agent, or the driver lacks that mode: the other one may do


def _state(code: int) -> DomainState:
    return _STATES.get(code, DomainState.UNKNOWN)


def _is_inactive(dom: libvirt.virDomain) -> bool:
    """True if shut off, or gone altogether (a transient domain vanishes when it stops)."""
    try:
        return _state(dom.state()[0]) in INACTIVE_STATES
    except libvirt.libvirtError as e:
        if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return True
        raise


def _rules_not_added(e: libvirt.libvirtError) -> bool:
    """libvirt's refusal of a live filter change whose new rules it could not instantiate
    (qemuDomainChangeNetFilter: it has then restored the interface's old rules)."""
    return e.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED and "failed to add new filter rules" in str(
        e.get_error_message()
    )


def _update_filter_live(dom: libvirt.virDomain, iface_xml: str) -> None:
    """Swap the running interface's filter, trying again (FILTER_RETRY_DELAYS) while libvirt
    says it could not add the new rules; the last refusal is raised."""
    for delay in (*FILTER_RETRY_DELAYS, None):
        try:
            dom.updateDeviceFlags(iface_xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            return
        except libvirt.libvirtError as e:
            if delay is None or not _rules_not_added(e):
                raise
            time.sleep(delay)


class DomainOps(Base):
    def _info(self, dom: libvirt.virDomain) -> DomainInfo:
        state, max_kib, _cur_kib, vcpus, _cpu_time = dom.info()
        return DomainInfo(
            name=dom.name(),
            uuid=dom.UUIDString(),
            state=_state(state),
            vcpus=vcpus,
            memory_mb=max_kib // 1024,
            persistent=bool(dom.isPersistent()),
            autostart=bool(dom.autostart()),
        )

    @retried()
    def list_domains(self) -> list[DomainInfo]:
        """All domains of the host, sorted by name. Raises ``Unreachable``/``OperationFailed``.

        Three calls whatever the number of domains: one stats call for state,
        vCPUs and memory, and two filtered listings for persistence/autostart
        (name and UUID come with the domain handles). Drivers whose stats lack
        vCPU/balloon data (the test driver) cost one ``info()`` per domain.
        """
        with self._op("list_domains") as conn:
            groups = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_BALLOON
            stats = conn.getAllDomainStats(groups)
            persistent = {d.UUIDString() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT)}
            autostart = {d.UUIDString() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
            result = []
            for dom, st in stats:
                uuid = dom.UUIDString()
                state_code, vcpus, max_kib = st.get("state.state"), st.get("vcpu.current"), st.get("balloon.maximum")
                if vcpus is None or max_kib is None:
                    try:
                        state_code, max_kib, _cur, vcpus, _t = dom.info()
                    except libvirt.libvirtError as e:
                        if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                            continue  # undefined while we were listing
                        raise
                result.append(
                    DomainInfo(
                        name=dom.name(),
                        uuid=uuid,
                        state=_state(state_code),
                        vcpus=int(vcpus),
                        memory_mb=int(max_kib) // 1024,
                        persistent=uuid in persistent,
                        autostart=uuid in autostart,
                    )
                )
        return sorted(result, key=lambda d: d.name)

    @retried()
    def get_domain(self, name: str) -> DomainInfo:
        """The domain ``name``. Raises ``NotFound`` if there is none."""
        with self._op("get_domain", name) as conn:
            return self._info(self._domain(conn, name))

    @retried()
    def domain_xml(self, name: str, inactive: bool = False) -> str:
        """Live XML of ``name`` (the persistent config with ``inactive=True``, secrets such as the
        VNC password included, so that it can be defined again as it is). Raises ``NotFound``."""
        with self._op("domain_xml", name) as conn:
            flags = PERSISTENT_XML if inactive else 0
            return self._domain(conn, name).XMLDesc(flags)

    @retried()
    def define(self, spec_or_xml: DomainSpec | str) -> DomainInfo:
        """Define (or redefine, same name and UUID) a persistent domain; does not start it.

        Returns its ``DomainInfo``. Raises ``OperationFailed`` when libvirt
        rejects the XML (e.g. the name exists with another UUID), ``ValueError``
        for an invalid spec.
        """
        xml = build_domain_xml(spec_or_xml) if isinstance(spec_or_xml, DomainSpec) else spec_or_xml
        name = spec_or_xml.name if isinstance(spec_or_xml, DomainSpec) else "<xml>"
        with self._op("define", name) as conn:
            return self._info(conn.defineXML(xml))

    def _transition(
        self, action: str, name: str, call: Callable[[libvirt.virDomain], object], allowed: frozenset
    ) -> None:
        """Run ``call(dom)``; a failure while the domain is not in an ``allowed`` state is ``InvalidState``.

        The real drivers report wrong-state as OPERATION_INVALID (translated to
        InvalidState anyway), but the test driver uses INTERNAL_ERROR ("domain
        'x' not running"), so on failure we look at the actual state. Costs
        nothing on success.
        """
        with self._op(action, name) as conn:
            dom = self._domain(conn, name)
            try:
                call(dom)
            except libvirt.libvirtError as e:
                state = _state(dom.state()[0])
                if state not in allowed:
                    raise InvalidState(
                        f"cannot {action} domain '{name}': it is {state}", code=e.get_error_code()
                    ) from e
                raise

    @retried(done_on_retry=(InvalidState,))
    def start(self, name: str) -> None:
        """Boot a stopped domain. Raises ``InvalidState`` if it is running, ``NotFound``."""
        self._transition("start", name, lambda d: d.create(), INACTIVE_STATES)

    @retried(done_on_retry=(InvalidState,))
    def shutdown(self, name: str) -> None:
        """Send an ACPI power-button request and return at once (the guest may ignore it)."""
        self._transition("shutdown", name, lambda d: d.shutdown(), _ACTIVE)

    @retried(done_on_retry=(InvalidState,))
    def destroy(self, name: str) -> None:
        """Power off at once (pull the plug). Raises ``InvalidState`` if not running."""
        self._transition("destroy", name, lambda d: d.destroy(), _ACTIVE)

    def reboot(self, name: str) -> None:
        """Ask the guest to reboot (ACPI). Raises ``InvalidState`` if not running."""
        self._transition("reboot", name, lambda d: d.reboot(0), _ACTIVE)

    def reset(self, name: str) -> None:
        """Hard reset, like the reset button. Raises ``InvalidState`` if not running."""
        self._transition("reset", name, lambda d: d.reset(0), _ACTIVE)

    @retried(done_on_retry=(InvalidState,))
    def suspend(self, name: str) -> None:
        """Pause the vCPUs. Raises ``InvalidState`` unless running."""
        self._transition("suspend", name, lambda d: d.suspend(), _RUNNING)

    @retried(done_on_retry=(InvalidState,))
    def resume(self, name: str) -> None:
        """Continue a paused domain. Raises ``InvalidState`` unless paused."""
        self._transition("resume", name, lambda d: d.resume(), frozenset({DomainState.PAUSED}))

    @retried(done_on_retry=(NotFound,))
    def undefine(self, name: str) -> None:
        """Remove a stopped domain's definition (with managed save, snapshot metadata
        and NVRAM where the driver supports it). Disks are NOT deleted.

        Raises ``InvalidState`` if it is running: undefining a running domain
        would leave an invisible transient guest. ``NotFound`` if missing.
        """
        with self._op("undefine", name) as conn:
            dom = self._domain(conn, name)
            if dom.isActive():
                raise InvalidState(f"cannot undefine domain '{name}': it is running, stop it first")
            for flags in _UNDEFINE_FLAG_SETS:
                try:
                    dom.undefineFlags(flags) if flags else dom.undefine()
                    return
                except libvirt.libvirtError as e:
                    if not flags or e.get_error_code() not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
                        raise

    @retried()
    def stop(self, name: str, timeout: float, poll: float = 0.5) -> str:
        """Graceful stop: ACPI shutdown, wait up to ``timeout`` s, then power off.

        Returns ``"acpi"`` (the guest shut down by itself), ``"forced"``
        (destroyed after the timeout; also at once for a paused guest, which
        cannot see ACPI events) or ``"already-stopped"``. Raises ``NotFound``.
        """
        with self._op("stop", name, timeout) as conn:
            dom = self._domain(conn, name)
            state = _state(dom.state()[0])
            if state in INACTIVE_STATES:
                return "already-stopped"
            if state != DomainState.PAUSED:
                try:
                    dom.shutdown()
                except libvirt.libvirtError:
                    if _is_inactive(dom):  # stopped between our check and the request
                        return "already-stopped"
                    raise
                deadline = time.monotonic() + timeout
                next_request = time.monotonic() + _SHUTDOWN_REPEAT
                while True:
                    if _is_inactive(dom):
                        return "acpi"
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    if time.monotonic() >= next_request:
                        # A guest still booting drops the first press (nothing handles
                        # the power button yet): ask again, by ACPI and by guest agent.
                        _ask_to_shut_down(dom)
                        next_request = time.monotonic() + _SHUTDOWN_REPEAT
                    time.sleep(min(poll, remaining))
            try:
                dom.destroy()
            except libvirt.libvirtError:
                if _is_inactive(dom):  # it made it on its own after all
                    return "acpi"
                raise
            return "forced"

    @retried()
    def agent_ready(self, name: str, timeout: int = 2) -> bool:
        """True once the guest agent inside the domain answers a ping (the guest has
        booted far enough to run services). False while it does not; raises ``NotFound``
        / ``Unreachable`` only."""
        try:
            with self._op("agent_ready", name) as conn:
                libvirt_qemu.qemuAgentCommand(self._domain(conn, name), '{"execute":"guest-ping"}', timeout, 0)
                return True
        except (InvalidState, OperationFailed):
            return False

    @retried()
    def set_user_password(self, name: str, user: str, crypted: str) -> None:
        """Set ``user``'s password inside the running guest through its agent, from a
        crypt(3) hash (the plain password never leaves the panel). Raises ``InvalidState``
        when the agent does not answer, ``NotFound``, ``Unreachable``."""
        with self._op("set_user_password", name, user) as conn:
            try:
                self._domain(conn, name).setUserPassword(user, crypted, libvirt.VIR_DOMAIN_PASSWORD_ENCRYPTED)
            except libvirt.libvirtError as e:
                if e.get_error_code() in (libvirt.VIR_ERR_AGENT_UNRESPONSIVE, libvirt.VIR_ERR_OPERATION_INVALID):
                    raise InvalidState(f"the guest agent of {name} does not answer: {e.get_error_message()}") from e
                raise

    @retried()
    def update_interface_filter(
        self, name: str, mac: str, filter_name: str, params: tuple[tuple[str, str], ...]
    ) -> bool:
        """Bind the interface with ``mac`` of domain ``name`` to ``filter_name`` with ``params``
        (its anti-spoofing addresses), in the persistent config and, while it runs, live
        (update-device: the new rules apply at once). Returns True when the running domain
        got them live, False when only the config changed (domain not running, or a driver
        without update-device, such as the test driver: then at its next start). A live change
        whose new rules libvirt could not add (it keeps the old ones) is tried again for a few
        seconds (FILTER_RETRY_DELAYS). Raises ``NotFound`` (no domain, or no interface with
        ``mac``), ``OperationFailed`` (then neither the running interface nor the config changed)."""
        with self._op("update_interface_filter", name, mac) as conn:
            dom = self._domain(conn, name)
            config = dom.XMLDesc(PERSISTENT_XML)
            config_iface = with_interface_filter(config, mac, filter_name, params)
            if config_iface is None:
                raise NotFound(f"domain '{name}' has no interface {mac}")
            live = False
            try:
                if dom.isActive():
                    live_iface = with_interface_filter(dom.XMLDesc(0), mac, filter_name, params)
                    if live_iface is not None:
                        _update_filter_live(dom, live_iface)
                        live = True
                dom.updateDeviceFlags(config_iface, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
                conn.defineXML(replace_interface(config, config_iface))
            return live

    @retried()
    def set_vcpus(self, name: str, vcpus: int) -> None:
        """Set the running domain's vCPUs (up to its maximum), live and in its config.
        Raises ``InvalidState`` beyond the maximum or when not running, ``NotFound``."""
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
        self._transition("set_vcpus", name, lambda d: d.setVcpusFlags(vcpus, flags), _RUNNING)

    @retried()
    def set_memory(self, name: str, memory_mb: int) -> None:
        """Set the running domain's current memory (the balloon, up to its maximum), live
        and in its config. Raises ``InvalidState`` when not running, ``NotFound``."""
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
        self._transition("set_memory", name, lambda d: d.setMemoryFlags(memory_mb * 1024, flags), _RUNNING)

    @retried()
    def resize_disk_live(self, name: str, target: str, capacity_bytes: int) -> None:
        """Grow the disk ``target`` (e.g. "vda") of the running domain to ``capacity_bytes``:
        the guest sees the new size at once (its partitions are its own to grow). Raises
        ``InvalidState`` when not running, ``NotFound``, ``OperationFailed``."""
        resize = lambda d: d.blockResize(target, capacity_bytes, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)  # noqa: E731
        self._transition("resize_disk_live", name, resize, _RUNNING)

    def agent_exec(self, name: str, argv: list[str], timeout: float = 120) -> tuple[int, str]:
        """Run ``argv`` inside the running guest through its agent; returns (exit code,
        output). Raises ``InvalidState`` when the agent does not answer or the command
        does not finish within ``timeout``."""
        with self._op("agent_exec", name, argv[0]) as conn:
            dom = self._domain(conn, name)
            request = {"execute": "guest-exec", "arguments": {"path": argv[0], "arg": argv[1:], "capture-output": True}}
            try:
                pid = json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(request), 10, 0))["return"]["pid"]
                deadline = time.monotonic() + timeout
                pause = 0.05  # most commands end in well under a second: asked soon, then less often
                while time.monotonic() < deadline:
                    status = {"execute": "guest-exec-status", "arguments": {"pid": pid}}
                    result = json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(status), 10, 0))["return"]
                    if result.get("exited"):
                        output = base64.b64decode(result.get("out-data", "")) + base64.b64decode(
                            result.get("err-data", "")
                        )
                        return result.get("exitcode", -1), output.decode("utf-8", "replace")
                    time.sleep(pause)
                    pause = min(pause * 2, 0.2)
            except libvirt.libvirtError as e:
                raise InvalidState(f"the guest agent of {name} does not answer: {e.get_error_message()}") from e
        raise InvalidState(f"{argv[0]} did not finish inside {name} within {timeout:.0f} s")

    @retried()
    def dhcp_lease_expiries(self, name: str) -> dict[str, int]:
        """{MAC: expiry time} of the DHCP leases libvirt's networks hold for the domain's
        interfaces. A guest that boots again asks for its lease again, which moves the expiry:
        how a deploy that restarts a VM tells the new system's lease from the old one's.
        Raises ``NotFound`` / ``Unreachable`` only."""
        with self._op("dhcp_lease_expiries", name) as conn:
            config = ET.fromstring(self._domain(conn, name).XMLDesc(0))
            expiries: dict[str, int] = {}
            for iface in config.findall("./devices/interface[@type='network']"):
                network, mac = iface.find("source"), iface.find("mac")
                if network is None or mac is None:
                    continue
                try:
                    leases = conn.networkLookupByName(network.get("network")).DHCPLeases(mac.get("address"))
                except libvirt.libvirtError:
                    continue  # the network went away or keeps no leases (the test driver)
                for lease in leases or ():
                    expiries[lease["mac"]] = max(lease["expirytime"], expiries.get(lease["mac"], 0))
            return expiries

    @retried()
    def interface_addresses(self, name: str) -> list[str]:
        """The guest's IPv4 addresses: DHCP leases of libvirt networks first, then
        the guest agent. Returns ``[]`` when neither knows (guest down, no lease
        yet, no agent). Raises ``NotFound`` / ``Unreachable`` only.
        """
        for source in (
            libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
            libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
        ):
            try:
                with self._op("interface_addresses", name, source) as conn:
                    ifaces = self._domain(conn, name).interfaceAddresses(source, 0) or {}
            except (InvalidState, OperationFailed):
                continue  # not running, agent not connected/configured, ...: next source
            ips: list[str] = []
            for iface in ifaces.values():
                for addr in iface.get("addrs") or ():
                    if addr.get("type") != libvirt.VIR_IP_ADDR_TYPE_IPV4:
                        continue
                    ip = addr.get("addr")
                    if ip and not ipaddress.ip_address(ip).is_loopback and ip not in ips:
                        ips.append(ip)
            if ips:
                return ips
        return []
