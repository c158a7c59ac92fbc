"""A host's CPU as its guests can get it, and the baseline CPU of several hosts (clusters,
docs/clusters.md). Used through ``driver.Hypervisor``.

``host_cpu(domain_type)`` is the host-model CPU the host's libvirt offers to guests of that
virtualization type (domain capabilities), as a ``<cpu mode='custom'>`` element: for
``qemu`` (TCG, software emulation) it is what QEMU emulates, not the silicon's CPU. None when
the host's libvirt cannot tell (the test driver; a host without host-model support).

``baseline_cpu(cpus, domain_type)`` is libvirt's baseline of such CPUs for that type: the
richest CPU all of them run (``virConnectBaselineHypervisorCPU`` with MIGRATABLE, so no
feature that blocks migration, and EXPAND_FEATURES, so every feature is listed). Computed
by this host's libvirt (which knows the CPU models); one host does it for a whole cluster.
Both are reads: safe to run again. Raise ``OperationFailed`` (e.g. CPUs of different
vendors) or ``Unreachable``.

Why domain capabilities and not the host's capabilities (``getCapabilities``): that is the
silicon's CPU; under TCG a guest asking for its features (avx512f here) does not get them
(libvirt 9.0 starts the guest with them silently disabled, measured), so a baseline of it
would promise more than the guests run. The host-model of domain capabilities is per type.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt

from ._base import Base, retried

BASELINE_FLAGS = libvirt.VIR_CONNECT_BASELINE_CPU_MIGRATABLE | libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES


class CpuOps(Base):
    @retried()
    def host_cpu(self, domain_type: str) -> str | None:
        """This host's CPU for ``domain_type`` guests as ``<cpu mode='custom'>`` XML, or None
        when its libvirt cannot tell (module docstring)."""
        with self._op("host_cpu", domain_type) as conn:
            try:
                caps = conn.getDomainCapabilities(None, None, None, domain_type, 0)
            except libvirt.libvirtError as e:
                if e.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_CONFIG_UNSUPPORTED):
                    return None
                raise
        return host_model_cpu(caps)

    @retried()
    def baseline_cpu(self, cpus: list[str], domain_type: str) -> str:
        """The baseline of ``cpus`` (``host_cpu`` answers) for ``domain_type`` guests, as
        ``<cpu mode='custom' match='exact'>`` XML (module docstring)."""
        if not cpus:
            raise ValueError("no CPU to make a baseline of")
        with self._op("baseline_cpu", domain_type, len(cpus)) as conn:
            return conn.baselineHypervisorCPU(None, None, None, domain_type, list(cpus), BASELINE_FLAGS)


def host_model_cpu(domain_capabilities: str) -> str | None:
    """The supported host-model CPU of domain capabilities XML as a custom CPU element, or
    None when host-model is not supported there."""
    root = ET.fromstring(domain_capabilities)
    mode = root.find("cpu/mode[@name='host-model']")
    if mode is None or mode.get("supported") != "yes" or mode.find("model") is None:
        return None
    cpu = ET.Element("cpu", mode="custom", match="exact")
    cpu.extend(list(mode))
    ET.indent(cpu)
    return ET.tostring(cpu, encoding="unicode")
