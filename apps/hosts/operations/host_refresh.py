"""Check a host: connect, make sure its storage pool exists, read its capacity.

The runner re-reads the host afterwards (refresh_host), so this operation only has to
fail clearly when the host cannot be reached.
"""

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.runner import OperationError

STEPS = ["Connect to the hypervisor", "Check the storage pool"]


def run(ctx, host):
    driver = hypervisor_for(host)
    with ctx.step("Connect to the hypervisor"):
        info = driver.host_info()
        ctx.note(f"{info.hostname}: {info.cpus} CPUs, {info.memory_mb} MiB, libvirt {info.libvirt_version}")
        # libvirt's test driver ("test") accepts domains of any type.
        if host.domain_type not in info.domain_types and "test" not in info.domain_types:
            raise OperationError(
                f"The host cannot run '{host.domain_type}' domains (it offers: {', '.join(info.domain_types)})."
            )
    with ctx.step("Check the storage pool"):
        pool = driver.ensure_pool(host.storage_pool, host.storage_path)
        ctx.note(f"pool {pool.name} at {pool.path}: {pool.available_bytes // 2**30} GiB free")
