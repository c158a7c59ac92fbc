"""libvirt networks of a host: whether one runs (the host check), making one from the
panel's data (``define_network``, ``start_network``: the ``host_network_setup`` job of
apps.ipam), and the anti-spoofing nwfilters.

``NetworkOps(uri)`` is a mixin-style class like the other driver parts (it shares the
process's connection for ``uri``); the host check uses it on its own so that it does not
depend on the order in which the driver's mixins are assembled.
"""

from __future__ import annotations

import libvirt

from ._base import Base, retried
from .domain_xml import (
    DUAL_STACK_FILTER,
    IPV6_SPOOF_FILTER,
    build_dual_stack_filter_xml,
    build_ipv6_spoof_filter_xml,
)
from .errors import NotFound
from .network_xml import build_network_xml
from .types import NetworkSpec, NetworkState


class NetworkOps(Base):
    @retried()
    def network_active(self, name: str) -> bool:
        """Whether network ``name`` is running. Raises ``NotFound`` if the host has no such
        network, ``Unreachable``/``OperationFailed`` as every call."""
        with self._op("network_active", name) as conn:
            return bool(self._network(conn, name).isActive())

    def _network(self, conn: libvirt.virConnect, name: str) -> libvirt.virNetwork:
        try:
            return conn.networkLookupByName(name)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
                raise NotFound(f"network '{name}' not found on {self.uri}", code=e.get_error_code()) from e
            raise

    @retried()
    def define_network(self, spec: NetworkSpec) -> bool:
        """Define network ``spec.name`` from ``spec`` unless the host has it. Returns True
        when it was defined now, False when one of that name was there (kept as it is: its
        definition, and the guests on it, are the host's). Safe to repeat."""
        xml = build_network_xml(spec)
        with self._op("define_network", spec.name) as conn:
            try:
                self._network(conn, spec.name)
                return False
            except NotFound:
                conn.networkDefineXML(xml)
                return True

    @retried()
    def start_network(self, name: str) -> bool:
        """Start network ``name`` unless it runs, and have libvirt start it at boot. Returns
        True when it was started now. Raises ``NotFound`` when the host has no such network."""
        with self._op("start_network", name) as conn:
            network = self._network(conn, name)
            started = False
            if not network.isActive():
                network.create()
                started = True
            if not network.autostart():
                network.setAutostart(1)
            return started

    @retried()
    def network_state(self, name: str) -> NetworkState:
        """Network ``name`` as the host has it. Raises ``NotFound``."""
        with self._op("network_state", name) as conn:
            network = self._network(conn, name)
            active = bool(network.isActive())
            try:
                bridge = network.bridgeName() if active else None
            except libvirt.libvirtError:
                bridge = None  # bridged onto a host bridge, on some versions
            return NetworkState(name=name, active=active, autostart=bool(network.autostart()), bridge=bridge)

    @retried()
    def interface_exists(self, name: str) -> bool | None:
        """Whether the host has network interface ``name`` (a bridge, say); None when its
        libvirt cannot tell (no interface driver)."""
        with self._op("interface_exists", name) as conn:
            try:
                conn.interfaceLookupByName(name)
                return True
            except libvirt.libvirtError as e:
                if e.get_error_code() == libvirt.VIR_ERR_NO_INTERFACE:
                    return False
                if e.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_UNSUPPORTED):
                    return None
                raise

    @retried(done_on_retry=(NotFound,))
    def remove_network(self, name: str) -> None:
        """Stop and forget network ``name`` (tests clean up with it). Raises ``NotFound``."""
        with self._op("remove_network", name) as conn:
            network = self._network(conn, name)
            if network.isActive():
                network.destroy()
            network.undefine()

    @retried()
    def ensure_dual_stack_filter(self) -> None:
        """Define the panel's dual-stack anti-spoofing nwfilter, and its IPv6 part, on the
        host (again: same rules, same UUIDs; running guests get them at once). Safe to repeat."""
        with self._op("ensure_dual_stack_filter", DUAL_STACK_FILTER) as conn:
            # The part first: the whole refers to it.
            conn.nwfilterDefineXML(build_ipv6_spoof_filter_xml(self._filter_uuid(conn, IPV6_SPOOF_FILTER)))
            conn.nwfilterDefineXML(build_dual_stack_filter_xml(self._filter_uuid(conn, DUAL_STACK_FILTER)))

    @staticmethod
    def _filter_uuid(conn: libvirt.virConnect, name: str) -> str | None:
        try:
            return conn.nwfilterLookupByName(name).UUIDString()
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_NWFILTER:
                raise
            return None
