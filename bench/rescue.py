#!/usr/bin/env python
"""Rescue mode: how long its user waits, on this machine, through the panel's own job path
(the real qemu:///system, TCG guests of the demo image; docs/rescue.md).

    .venv/bin/python bench/rescue.py [--rounds N]

A VM deployed from the demo image with the owner's saved SSH key (the deploy is not timed)
is put in rescue mode and taken out again, N times:
- enter_s: the vm_rescue job, from its creation to its end (the rescue system copied to the
  host, the guest shut down gracefully, the rescue system defined and started);
- ssh_s: from that job's creation until root logs in to the rescue system over SSH with the
  owner's key (its boot, DHCP and dropbear included);
- leave_s: the vm_unrescue job (the rescue system's ACPI shutdown, the VM's own system defined
  and started);
- own_s: from leaving's creation until the VM's own system answers SSH again.
Uses a throw-away SQLite data directory (jobs run in-process: VMM_JOBS_SYNC), its own storage
pool and the isolated network vmm-test, and removes everything it made. Last line:
    enter_s=<median> ssh_s=<median> leave_s=<median> own_s=<median>
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy import bench_world, throwaway_panel, virsh  # noqa: E402 (bench/ is on the path)

POOL, POOL_PATH = "vmmbench-rescue", "/var/lib/vmmanager/bench-rescue-pool"


def leased(mac):
    """The addresses the test network's DHCP gave `mac`, newest first."""
    rows = virsh("net-dhcp-leases", "vmm-test", "--mac", mac, check=False).stdout.splitlines()
    return [row.split()[4].split("/")[0] for row in reversed(rows) if mac in row and "ipv4" in row]


def ssh_answers(key, mac, expect, started, timeout=300):
    """Seconds from `started` until root logs in at one of `mac`'s addresses and `expect`
    (a file that exists only on the system wanted) is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for address in leased(mac):
            login = subprocess.run(
                ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
                 "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                 f"root@{address}", f"test -e {expect}"],
                capture_output=True, timeout=30,
            )  # fmt: skip
            if login.returncode == 0:
                return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(f"no SSH login with {expect} within {timeout} s")


def finished(start, vm, owner):
    """Start a job with `start` (a service of apps.vms.rescue) as `owner`; it runs to its end
    (VMM_JOBS_SYNC). Returns its seconds and the time.monotonic() of its creation."""
    from apps.jobs.models import Job
    from apps.vms.models import VirtualMachine

    job = Job.objects.get(pk=start(VirtualMachine.objects.get(pk=vm.pk), actor=owner).pk)
    if job.status != "succeeded":
        raise RuntimeError(f"{job.kind} failed: {job.error}")
    created = job.created_at.timestamp() - time.time() + time.monotonic()
    return (job.finished_at - job.created_at).total_seconds(), created


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with throwaway_panel(jobs_in_process=True) as (_work, key):
        run(args.rounds, key)


def run(rounds, key):
    from django.conf import settings

    from apps.accounts.sshkeys import SshKey
    from apps.hosts.hypervisor import hypervisor_for
    from apps.jobs import runner
    from apps.jobs.models import Job
    from apps.vms import rescue
    from apps.vms.create import create_vm
    from apps.vms.models import VirtualMachine
    from tests.built import kernel_and_initrd

    settings.VMM_RESCUE_KERNEL, settings.VMM_RESCUE_INITRD = kernel_and_initrd("rescue-system.sh")
    owner, host, image = bench_world(POOL, POOL_PATH)
    public = key.with_suffix(".pub").read_text().strip()
    saved = SshKey(owner=owner, name="bench", public_key=public)
    saved.full_clean()
    saved.save()
    figures = {"enter_s": [], "ssh_s": [], "leave_s": [], "own_s": []}
    try:
        vm, job = create_vm(owner, name="rescued", image=image, vcpus=1, memory_mb=768, disk_gb=3, ssh_keys=[public])
        if Job.objects.get(pk=job.pk).status != "succeeded":
            raise RuntimeError(f"deploy failed: {Job.objects.get(pk=job.pk).error}")
        vm.refresh_from_db()
        mac = vm.mac_address
        ssh_answers(key, mac, "/etc/os-release", time.monotonic())  # its own system is up
        for i in range(rounds):
            seconds, began = finished(rescue.enter_rescue, vm, owner)
            figures["enter_s"].append(seconds)
            figures["ssh_s"].append(ssh_answers(key, mac, "/run/rescue-ssh", began))  # only the rescue system has it
            seconds, began = finished(rescue.leave_rescue, vm, owner)
            figures["leave_s"].append(seconds)
            figures["own_s"].append(ssh_answers(key, mac, "/etc/os-release", began))
            print(f"round {i + 1}: " + ", ".join(f"{name} {values[-1]:.1f}" for name, values in figures.items()))
    finally:
        for leftover in VirtualMachine.objects.all():
            runner.submit("vm_delete", leftover)  # run to its end at once (VMM_JOBS_SYNC)
        driver = hypervisor_for(host)
        for volume in driver.list_volumes(POOL):
            driver.delete_volume(POOL, volume.name)
        driver.delete_pool(POOL, remove_dir=True)
    print(" ".join(f"{name}={statistics.median(values):.1f}" for name, values in figures.items()))


if __name__ == "__main__":
    main()
