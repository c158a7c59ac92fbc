#!/usr/bin/env python
"""Backups (docs/backups.md): a cloud-init guest with a 4 GiB disk deployed through the panel on
qemu:///system, a full backup into a local restic repository, 200 MiB of random data written
in the guest, and a second backup: incremental (only the blocks written since the first
backup's checkpoint are copied from the host, completed into the whole disk with the first
backup's restic data).

How long the guest was frozen: the driver's figure, from asking the freeze to the thaw's
answer (the guest's filesystems can only be frozen within it), the longer of the two backups;
its breakdown (freeze, backup begin, thaw) is printed before. Also measured inside the guest
and printed before: a shell loop writes a file on the root filesystem (a write blocks while
it is frozen) and notes the time after each write in /dev/shm, about every 20 ms; the longest
gap between two notes during a backup is the longest the guest could not write, for any
reason (on a host loaded far beyond its cores the TCG guest also stalls without a freeze).

    .venv/bin/python bench/backup.py

Uses a throw-away SQLite data directory and its own storage pool, and removes everything it
made. The last line is the result:
    backup_full_s=<s> backup_incr_s=<s> incr_bytes_ratio=<bytes added / bytes changed>
    guest_frozen_ms=<the longer freeze, the driver's figure>   (one line)
"""

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy import IMAGE, bench_host, setup_django  # noqa: E402

POOL, POOL_PATH = "vmmbench-backup", "/var/lib/vmmanager/bench-backup-pool"
CHANGED = 200 * 2**20
PROBE = (
    "mkfifo /dev/shm/vmm-tick 2>/dev/null; : > /dev/shm/ticks; "
    "nohup bash -c 'exec 9<>/dev/shm/vmm-tick; while :; do echo x > /root/probe; "
    "echo $EPOCHREALTIME >> /dev/shm/ticks; read -t 0.02 -u 9; done' >/dev/null 2>&1 &"
)
LONGEST_GAP = (
    "awk 'NR > 1 { d = $1 - p; if (d > m) m = d } { p = $1 } END { printf \"%.0f\", m * 1000 }' /dev/shm/ticks"
)


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


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(driver, vm, work, create_backup, runner):
    """A third backup, incremental, of the paused guest (its disk does not change), stored
    whole: the disk read back from restic must be the disk, byte for byte."""
    from apps.backups import restic
    from apps.backups.models import Backup

    driver.suspend(vm.domain_name)
    try:
        job = runner.execute(create_backup(vm).pk)
        if job.status != "succeeded" or job.result.get("kind") != "incremental":
            raise RuntimeError(f"the third backup: {job.status} {job.result.get('kind')} {job.error}")
        backup = Backup.objects.select_related("repository").get(pk=job.result["backup_id"])
        restic.dump_to_file(backup.repository, backup.restic_snapshot_id, backup.filename, work / "restored.raw")
        disk = driver.disk_source(vm.domain_name)
        subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", disk, str(work / "disk.raw")], check=True)
        same = sha256_of(work / "restored.raw") == sha256_of(work / "disk.raw")
    finally:
        driver.resume(vm.domain_name)
    print(f"the incremental backup restored is the disk byte for byte: {same}", file=sys.stderr)
    if not same:
        raise RuntimeError("the incremental backup is not the disk")


def main():
    work = Path(tempfile.mkdtemp(prefix="vmm-bench-backup-"))
    setup_django(work / "data")
    from apps.backups.models import Backup
    from apps.backups.services import add_repository, create_backup
    from apps.hosts.hypervisor import hypervisor_for
    from apps.images.models import GuestConfig
    from apps.images.services import import_image_file
    from apps.jobs import runner
    from apps.vms.create import create_vm

    # The driver's own breakdown of each freeze (freeze, backup begin, thaw's answer).
    virt_log = logging.getLogger("vmmanager.virt")
    virt_log.setLevel(logging.DEBUG)
    breakdown = logging.StreamHandler(sys.stderr)
    breakdown.addFilter(lambda record: "thaw" in record.getMessage())
    virt_log.addHandler(breakdown)
    virt_log.propagate = False

    cloudinit = IMAGE.with_name("debian-12-cloudinit.qcow2")
    owner, host = bench_host(POOL, POOL_PATH)
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
        agent(driver, vm, PROBE)
        results = []
        for round_ in range(2):
            if round_:
                agent(driver, vm, f"head -c {CHANGED} /dev/urandom > /root/changed && sync")
            agent(driver, vm, ": > /dev/shm/ticks")
            started = time.monotonic()
            job = runner.execute(create_backup(vm).pk)
            if job.status != "succeeded":
                raise RuntimeError(job.error)
            elapsed = time.monotonic() - started
            stall = float(agent(driver, vm, LONGEST_GAP) or "nan")
            results.append((elapsed, job.result, stall))
            print(
                f"backup {round_ + 1}: {job.result.get('kind')}, {elapsed:.1f} s, "
                f"read {job.result.get('read_bytes')} B, "
                f"added {job.result.get('added_bytes')} B, frozen (driver: freeze asked to thaw answered) "
                f"{job.result.get('frozen_ms')} ms, longest stall of the guest's writes {stall:.0f} ms",
                file=sys.stderr,
            )
            vm.refresh_from_db()
        (full_s, full, _stall1), (incr_s, incr, _stall2) = results
        if incr.get("kind") != "incremental":
            raise RuntimeError(f"the second backup was {incr.get('kind')}")
        verify(driver, vm, work, create_backup, runner)
        print(f"backups: {Backup.objects.count()}, disk {vm.disk_gb} GiB", file=sys.stderr)
        print(
            f"backup_full_s={full_s:.1f} backup_incr_s={incr_s:.1f} "
            f"incr_bytes_ratio={incr['added_bytes'] / CHANGED:.2f} "
            f"guest_frozen_ms={max(full['frozen_ms'] or 0, incr['frozen_ms'] or 0):.0f}"
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
