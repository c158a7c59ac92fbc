"""An interface's bandwidth limit (libvirt ``<bandwidth>``), changed on a running domain.

``set_interface_bandwidth(name, mac, kib_per_s)`` holds both directions of the interface
with ``mac`` to an average of ``kib_per_s`` KiB/s (libvirt's unit: 1024 bytes a second;
0 removes the limit), live when the domain runs and in its persistent definition, so a
restart keeps it. ``interface_bandwidth(name, mac)`` reads it back as
(inbound, outbound) KiB/s, 0 meaning none. Raises ``NotFound`` (no such domain or
interface) and ``OperationFailed`` like every driver call. Safe to repeat (sets a value).

A live call that fails leaves the interface without any limit. libvirt applies a limit with
several ``tc`` commands and does not undo those that succeeded before the one that failed:
on a kernel without ``sch_sfq`` the ``htb`` qdisc and class it made first stay on the tap
and hold traffic to the guest at the rate, while the domain says it has no limit (measured,
docs/traffic.md). Setting 0 removes them (libvirt's clear works on such a kernel).
"""

from __future__ import annotations

import libvirt

from ._base import Base, retried

KEYS = ("inbound.average", "outbound.average")


def _undo_partial(dom, mac: str) -> None:
    """Remove what a failed live limit left on the tap (see the module docstring)."""
    try:
        dom.setInterfaceParameters(mac, dict.fromkeys(KEYS, 0), libvirt.VIR_DOMAIN_AFFECT_LIVE)
    except libvirt.libvirtError:
        pass  # the first error is the one to report


class BandwidthOps(Base):
    @retried()
    def set_interface_bandwidth(self, name: str, mac: str, kib_per_s: int) -> bool:
        """Limit (or, with 0, free) the interface ``mac`` of domain ``name``. Returns True
        when the running domain got it live, False when only its definition changed."""
        if isinstance(kib_per_s, bool) or not isinstance(kib_per_s, int) or not 0 <= kib_per_s < 2**32:
            raise ValueError("kib_per_s must be a whole number from 0 to 2^32-1")
        with self._op("set_interface_bandwidth", name, mac, kib_per_s) as conn:
            dom = self._domain(conn, name)
            live = bool(dom.isActive())
            values = {key: kib_per_s for key in KEYS}
            if kib_per_s:
                # A burst of one second's worth: short bursts pass, the average holds.
                values.update({"inbound.burst": kib_per_s, "outbound.burst": kib_per_s})
            # Two calls: some drivers (the test driver) refuse LIVE and CONFIG together.
            if live:
                try:
                    dom.setInterfaceParameters(mac, values, libvirt.VIR_DOMAIN_AFFECT_LIVE)
                except libvirt.libvirtError:
                    if kib_per_s:
                        _undo_partial(dom, mac)
                    raise
            if dom.isPersistent():
                dom.setInterfaceParameters(mac, values, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            return live

    @retried()
    def interface_bandwidth(self, name: str, mac: str) -> tuple[int, int]:
        """The (inbound, outbound) average limit in KiB/s of interface ``mac``; 0: none."""
        with self._op("interface_bandwidth", name, mac) as conn:
            params = self._domain(conn, name).interfaceParameters(mac, 0)
            return params.get("inbound.average", 0), params.get("outbound.average", 0)
