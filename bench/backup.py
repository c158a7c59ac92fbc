#!/usr/bin/env python
"""Backups (docs/backups.md): a cloud-init guest with a 4 GiB disk deployed through the panel on
qemu:///system, a full backup into a local restic repository, 200 MiB of random data written
in the guest, and a second backup. Incremental backups (checkpoints) are not done yet, so the
second backup reads the whole disk again; what it adds to the repository shows restic's
deduplication of the raw data.

    .venv/bin/python bench/backup.py

Uses a throw-away SQLite data directory and its own storage pool, and removes everything it
made. The last line is the result:
    backup_full_s=<s> backup_second_s=<s> second_bytes_ratio=<bytes added / bytes changed>
    guest_frozen_ms=<the longer freeze> backup_incr_s=n/a   (one line)
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy import IMAGE, setup_django  # noqa: E402

POOL, POOL_PATH = "vmmbench-backup", "/var/lib/vmmanager/bench-backup-pool"
CHANGED = 200 * 2**20


def agent(driver, vm, script, timeout=300):
    deadline = time.monotonic() + timeout
    while not driver.agent_ready(vm.domain_name):
        if time.monotonic() > deadline:
            raise RuntimeError("the guest agent did not answer")
        time.sleep(1)
    code, output = driver.agent_exec(vm.domain_name, ["/bin/sh", "-c", script], timeout=300)
    if code != 0:
        raise RuntimeError(output)
    return output


def main():
    work = Path(tempfile.mkdtemp(prefix="vmm-bench-backup-"))
    setup_django(work / "data")
    from apps.accounts.models import User
    from apps.backups.models import Backup
    from apps.backups.services import add_repository, create_backup
    from apps.hosts.hypervisor import hypervisor_for
    from apps.hosts.models import Host
    from apps.hosts.services import refresh_host
    from apps.images.models import GuestConfig
    from apps.images.services import import_image_file
    from apps.jobs import runner
    from apps.vms.create import create_vm

    cloudinit = IMAGE.with_name("debian-12-cloudinit.qcow2")
    owner = User.objects.create_user("bench")
    host = Host.objects.create(
        name="bench", uri="qemu:///system", domain_type="qemu", storage_pool=POOL, storage_path=POOL_PATH
    )
    refresh_host(host)
    driver = hypervisor_for(host)
    vm = None
    try:
        image = import_image_file(cloudinit, name="debian-12", os_family="debian", guest_config=GuestConfig.CLOUD_INIT)
        repository, job = add_repository(None, name="bench", path=str(work / "repo"), password="bench-horse-battery")
        runner.execute(job.pk)
        vm, job = create_vm(owner, name="bench-backup", image=image, vcpus=1, memory_mb=1024, disk_gb=4,
                            password="Bench-Horse-7", ssh_keys=[])  # fmt: skip
        if runner.execute(job.pk).status != "succeeded":
            raise RuntimeError("deploy failed")
        vm.refresh_from_db()
        agent(driver, vm, "true")
        results = []
        for round_ in range(2):
            if round_:
                agent(driver, vm, f"head -c {CHANGED} /dev/urandom > /root/changed && sync")
            started = time.monotonic()
            job = runner.execute(create_backup(vm).pk)
            if job.status != "succeeded":
                raise RuntimeError(job.error)
            results.append((time.monotonic() - started, job.result.get("added_bytes"), job.result.get("frozen_ms")))
            vm.refresh_from_db()
        (full_s, _full_added, frozen1), (second_s, second_added, frozen2) = results
        frozen = max(f for f in (frozen1, frozen2) if f is not None) if frozen1 or frozen2 else float("nan")
        print(f"backups: {Backup.objects.count()}, disk {vm.disk_gb} GiB", file=sys.stderr)
        print(
            f"backup_full_s={full_s:.1f} backup_second_s={second_s:.1f} "
            f"second_bytes_ratio={second_added / CHANGED:.2f} guest_frozen_ms={frozen:.0f} backup_incr_s=n/a"
        )
    finally:
        if vm is not None:
            runner.execute(runner.submit("vm_delete", vm).pk)
        for volume in driver.list_volumes(POOL):
            driver.delete_volume(POOL, volume.name)
        driver.delete_pool(POOL, remove_dir=True)
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    main()
