"""Bench: live migration of an idle guest between the two container test hosts
(scripts/testhosts.sh, qemu+tcp:// on loopback; docs/migration.md).

A VM of the plain demo image (TCG, `--memory` MiB, 1 vCPU) is made directly on host 1 (the
image's copy there, a linked clone, the domain) and started; once its guest agent answers,
a counter runs in the guest (a loop writing the guest's clock every 20 ms to a file). Then
the `vm_migrate` job moves it live to host 2 (jobs inline), and the bench prints:

- `migrate_s`: the job's "Put the VM on the target" step (libvirt's migration itself);
- `downtime_ms`: the downtime libvirt reports for the finished migration (the pause between
  the last memory pass on the source and the guest running on the target), read on the
  target; `counter_gap_ms`: the longest gap of the guest's counter. Under TCG the guest's
  clock stops while the guest is paused, so this gap shows what the guest noticed, not the
  wall-clock pause: the first figure is the one to compare;
- `bytes_ratio`: the bytes sent (memory and disk, as libvirt counts them) divided by the
  VM's own layer plus its memory (the issue's target: at most 1.2).

    .venv/bin/python bench/migrate.py [--memory 1024]

It takes /tmp/vmm-multihost.lock, starts the test hosts (`testhosts.sh up 2`) and removes
them at the end. It uses its own database (`<DATABASE_URL's name>_migrate_bench`, dropped at
the end). The last line is

    migrate_s=<x> downtime_ms=<n> counter_gap_ms=<n> bytes_ratio=<x>
"""

import argparse
import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)
from testhosts import testhosts  # noqa: E402

BENCH_DB = BenchDatabase("_migrate_bench")
DATA_DIR = os.environ.get("VMM_BENCH_DATA_DIR") or tempfile.mkdtemp(prefix="vmm-bench-")
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=DATA_DIR,
    VMM_JOBS_SYNC="true",
    DEBUG="false",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
IMAGE = Path(os.environ.get("VMM_CACHE", "/var/cache/vmmanager")) / "images" / "debian-12-plain.qcow2"
COUNTER = "/run/vmm-counter"
START_COUNTER = f"nohup sh -c 'while :; do date +%s%N; sleep 0.02; done' > {COUNTER} 2>/dev/null < /dev/null &"


def create_database():
    import django

    BENCH_DB.create()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run(args):
    from apps.accounts.models import Role, User
    from apps.hosts.hypervisor import hypervisor_for
    from apps.hosts.models import DomainType, Host, HostStatus
    from apps.hosts.services import refresh_host
    from apps.images.hostcopy import ensure_on_host
    from apps.images.models import GuestConfig, Visibility
    from apps.images.services import import_image_file
    from apps.jobs.models import JobStatus
    from apps.jobs.runner import run_inline
    from apps.vms.create import new_mac
    from apps.vms.deploy.steps import domain_spec
    from apps.vms.models import PowerState, VirtualMachine, VmStatus
    from apps.vms.services import refresh_vm_state

    hosts = []
    for line in testhosts("up", "2").splitlines():
        name, uri = line.split()
        host = Host.objects.create(
            name=name, uri=uri, domain_type=DomainType.QEMU, network="", status=HostStatus.UNREACHABLE
        )
        refresh_host(host)
        if host.status != HostStatus.ONLINE:
            sys.exit(f"{host.name} is not usable: {host.status_reason}")
        hosts.append(host)
    source, target = hosts
    owner = User.objects.create_user("bench-admin", password="pw-bench-1", role=Role.ADMIN)
    image = import_image_file(
        IMAGE, name="debian-12-plain", os_family="debian", os_version="12",
        guest_config=GuestConfig.CUSTOMIZE, visibility=Visibility.PUBLIC,
    )  # fmt: skip
    vm = VirtualMachine.objects.create(
        name="bench-mover", owner=owner, host=source, image=image, vcpus=1, memory_mb=args.memory, disk_gb=3,
        mac_address=new_mac(), status=VmStatus.ACTIVE, power_state=PowerState.STOPPED,
    )  # fmt: skip
    src, dst = hypervisor_for(source), hypervisor_for(target)
    copy = ensure_on_host(image, source)
    disk = src.clone_volume_linked(source.storage_pool, vm.disk_volume, copy.path, vm.disk_gb * 2**30)
    src.define(domain_spec(vm, disk.path))
    src.start(vm.domain_name)
    started = time.monotonic()
    while not src.agent_ready(vm.domain_name):
        if time.monotonic() - started > 300:
            sys.exit("the guest did not come up on the source within 300 s")
        time.sleep(1)
    print(f"guest up on {source.name} after {time.monotonic() - started:.0f} s", flush=True)
    src.agent_exec(vm.domain_name, ["sh", "-c", START_COUNTER])
    time.sleep(5)  # idle, counting
    refresh_vm_state(vm)
    layer = src.volume_info(source.storage_pool, vm.disk_volume).allocation_bytes
    job = run_inline("vm_migrate", vm, actor=owner, params={"target_host_id": target.pk, "target_pinned": True})
    if job.status != JobStatus.SUCCEEDED:
        sys.exit(f"the migration failed: {job.error}")
    step = job.steps.get(name="Put the VM on the target")
    print(step.detail, flush=True)
    migrate_s = (step.finished_at - step.started_at).total_seconds()
    time.sleep(3)  # counting on the target
    lines = dst.agent_exec(vm.domain_name, ["cat", COUNTER])[1].split()
    stamps = [int(x) for x in lines if x.isdigit()]
    gap_ms = max((b - a for a, b in zip(stamps, stamps[1:], strict=False)), default=0) // 10**6
    figures = dst.completed_migration(vm.domain_name)
    downtime_ms = figures.downtime_ms if figures else -1
    sent = (figures.data_processed + figures.disk_processed) if figures else 0
    ratio = sent / (layer + args.memory * 2**20)
    print(f"own layer {layer // 2**20} MiB + memory {args.memory} MiB; sent {sent // 2**20} MiB", flush=True)
    dst.destroy(vm.domain_name)
    dst.undefine(vm.domain_name)
    print(f"migrate_s={migrate_s:.1f} downtime_ms={downtime_ms} counter_gap_ms={gap_ms} bytes_ratio={ratio:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", type=int, default=1024, help="the guest's memory in MiB")
    args = parser.parse_args()
    with open("/tmp/vmm-multihost.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        create_database()
        try:
            run(args)
        finally:
            testhosts("down")
            BENCH_DB.drop()


if __name__ == "__main__":
    main()
