#!/usr/bin/env python
"""Instant VMs: order-to-ready seconds of an order served from a warm pool (a standby VM
taken and personalised live through its guest agent: docs/warm-pool.md) against the same
order deployed from the image (the normal path), on the same machine, through the panel's
own job path (the real qemu:///system, TCG guests of the demo image).

    .venv/bin/python bench/instant.py [--rounds N] [--pool-disk-gb G]

The pool's standbys have the order's disk (4 GiB) unless `--pool-disk-gb` makes them
smaller: the order's disk is then grown online as it is taken (docs/warm-pool.md, "Figures").

Order-to-ready is from the order (the job's creation) to its job's end (the VM running,
its address known). The pool's standbys and top-ups are deployed before and between the
timed orders, not timed. Uses a throw-away SQLite data directory (jobs run in-process:
VMM_JOBS_SYNC) and its own storage pool, and removes everything it made. Last line:
    instant_s=<median> normal_s=<median> speedup=<normal / instant>
"""

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy import bench_world, throwaway_panel  # noqa: E402 (bench/ is on the path)

POOL, POOL_PATH = "vmmbench-instant", "/var/lib/vmmanager/bench-instant-pool"


DISK_GB = 4  # the order's


def order(owner, image, name, ssh_key):
    """Order a VM (its job runs in-process, then any top-up); its order-to-ready seconds, job and VM."""
    from apps.jobs.models import Job
    from apps.vms.create import create_vm

    vm, job = create_vm(
        owner,
        name=name,
        image=image,
        vcpus=2,
        memory_mb=1024,
        disk_gb=DISK_GB,
        password="Bench-Horse-7",
        ssh_keys=[ssh_key],
    )
    job = Job.objects.get(pk=job.pk)
    if job.status != "succeeded":
        raise RuntimeError(f"{name}: {job.error}")
    return (job.finished_at - job.created_at).total_seconds(), job, vm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pool-disk-gb", type=int, default=DISK_GB, help="the standbys' disk (at most the order's)")
    args = parser.parse_args()
    with throwaway_panel(jobs_in_process=True) as (_work, key_path):
        ssh_key = key_path.with_suffix(".pub").read_text().strip()
        run(args.rounds, ssh_key, min(args.pool_disk_gb, DISK_GB))


def run(rounds, ssh_key, pool_disk_gb):
    from apps.hosts.hypervisor import hypervisor_for
    from apps.jobs import runner
    from apps.vms import warm_pool
    from apps.vms.models import VirtualMachine

    owner, host, image = bench_world(POOL, POOL_PATH)
    try:
        # The standby is deployed (and, after each take, the next one) as the pool is saved.
        pool = warm_pool.save_pool(
            None, image=image, host=host, size=1, max_vcpus=2, max_memory_mb=1024, disk_gb=pool_disk_gb
        )
        instant = []
        for i in range(rounds):
            seconds, job, vm = order(owner, image, f"instant-{i}", ssh_key)
            assert "taken from the warm pool" in job.steps.first().detail, job.steps.first().detail
            instant.append(seconds)
            steps = ", ".join(f"{step.name}: {step.duration.total_seconds():.1f}" for step in job.steps.all())
            print(f"from the pool: {seconds:.1f} s ({steps})", flush=True)
            print(f"  configured: {job.steps.get(name='Configure the guest').detail}", flush=True)
            runner.submit("vm_delete", vm)  # the host holds the next round's VMs, and nothing else runs
        warm_pool.delete_pool(None, pool)  # its standby is deleted: the next orders are deployed
        normal = []
        for i in range(rounds):
            seconds, job, vm = order(owner, image, f"normal-{i}", ssh_key)
            assert "warm_pool" not in job.params
            normal.append(seconds)
            print(f"from the image: {seconds:.1f} s", flush=True)
            runner.submit("vm_delete", vm)
    finally:
        for vm in VirtualMachine.objects.all():
            runner.submit("vm_delete", vm)  # run to its end at once (VMM_JOBS_SYNC)
        driver = hypervisor_for(host)
        for volume in driver.list_volumes(POOL):
            driver.delete_volume(POOL, volume.name)
        driver.delete_pool(POOL, remove_dir=True)
    instant_s, normal_s = statistics.median(instant), statistics.median(normal)
    print(f"instant_s={instant_s:.1f} normal_s={normal_s:.1f} speedup={normal_s / instant_s:.1f}")


if __name__ == "__main__":
    main()
