"""libvirt networks of a host, as far as the host check needs them.

``NetworkOps(uri).network_active(name)`` is a mixin-style class like the other driver
parts (it shares the process's connection for ``uri``); the host check uses it on its own
so that it does not depend on the order in which the driver's mixins are assembled.
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


class NetworkOps(Base):
    @retried()
    def network_active(self, name: str) -> bool:
        """Whether network ``name`` is running. Raises ``NotFound`` if the host has no such
        network, ``Unreachable``/``OperationFailed`` as every call."""
        with self._op("network_active", name) as conn:
            try:
                network = conn.networkLookupByName(name)
            except libvirt.libvirtError as e:
                if e.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
                    raise NotFound(f"network '{name}' not found on {self.uri}", code=e.get_error_code()) from e
                raise
            return bool(network.isActive())

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
