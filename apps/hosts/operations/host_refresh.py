"""Check a host: connect, see that it offers the guest type and network the panel will use,
make sure its storage pool exists, read its capacity.

A failed step lists concretely what is missing on the host, each with its fix, and ends
with the prepare-host command that sets a fresh Debian host up (apps/hosts/checks.py).
The runner re-reads the host afterwards (refresh_host), so its status agrees.

A host the panel has never reached (being added, or never set up) is not in an outage: its
check says what it finds at once instead of waiting out `VMM_HOST_OUTAGE_WINDOW` (a mistyped
address or a host without libvirt is told in a second, not a minute). A host seen online
before is checked like any job's host: a libvirtd restart is waited out (docs/outages.md).
"""

from apps.hosts import checks
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.runner import OperationError
from apps.virt.errors import VirtError

STEPS = ["Connect to the hypervisor", "Check the storage pool"]


def run(ctx, host):
    driver = hypervisor_for(host, outage_window=0 if host.last_seen_at is None else None)
    with ctx.step("Connect to the hypervisor"):
        missing_key = checks.ensure_ssh_key(host)
        if missing_key:
            raise OperationError(checks.report(host, [missing_key]))
        try:
            info = driver.host_info()
        except VirtError as exc:
            raise OperationError(checks.report(host, checks.connection_findings(host.uri, exc), exc)) from exc
        ctx.note(f"{info.hostname}: {info.cpus} CPUs, {info.memory_mb} MiB, libvirt {info.libvirt_version}")
        findings = checks.hypervisor_findings(host, info)
        if findings:
            raise OperationError(checks.report(host, findings))
    with ctx.step("Check the storage pool"):
        try:
            pool = driver.ensure_pool(host.storage_pool, host.storage_path)
        except VirtError as exc:
            raise OperationError(checks.report(host, checks.pool_findings(host, exc))) from exc
        ctx.note(f"pool {pool.name} at {pool.path}: {pool.available_bytes // 2**30} GiB free")
