#!/usr/bin/env python
"""Deploy overhead: N VMs deployed from the demo image through the panel's own job path
(placement, image copy, linked clone, virt-customize, define, start, wait for the lease),
against the same steps done directly with qemu-img, virt-customize and virsh.

    .venv/bin/python bench/deploy.py [--vms N]

Uses a throw-away SQLite data directory and its own storage pool on qemu:///system, and
removes everything it made. The last line is the result:
    deploy_overhead_ratio=<panel s / direct s> linked_clone_ms=<median>
    linked_clone_1g_ms=<> linked_clone_4g_ms=<> steps=<step:seconds,...>   (one line)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = Path(os.environ.get("VMM_CACHE", "/var/cache/vmmanager")) / "images" / "debian-12-plain.qcow2"
POOL, POOL_PATH = "vmmbench", "/var/lib/vmmanager/bench-pool"


def setup_django(data_dir):
    for var in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(var, None)
    os.environ.update(DJANGO_SETTINGS_MODULE="vmmanager.settings", VMM_DATA_DIR=str(data_dir), LOG_LEVEL="WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("migrate", database="channels", verbosity=0)  # the embedded channel layer's own file


@contextmanager
def throwaway_panel(jobs_in_process=False):
    """A throw-away data directory with the panel set up on it (SQLite) and a new SSH key pair
    in it: yields (the directory, the private key's path); removes it all after. With
    `jobs_in_process` each job runs in this process, to its end, as it is queued (VMM_JOBS_SYNC)."""
    work = Path(tempfile.mkdtemp(prefix="vmm-bench-"))
    os.chmod(work, 0o755)
    try:
        if jobs_in_process:
            os.environ["VMM_JOBS_SYNC"] = "1"
        setup_django(work / "data")
        key = work / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        yield work, key
    finally:
        shutil.rmtree(work, ignore_errors=True)


def virsh(*args, check=True):
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", *args], capture_output=True, text=True, check=check)


def wait_for_lease(domain, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = virsh("domifaddr", domain, check=False).stdout
        if "ipv4" in out:
            return
        time.sleep(1)
    raise RuntimeError(f"{domain} got no address")


def bench_host(pool=POOL, pool_path=POOL_PATH):
    """(owner, the local host with its own storage pool, its guests on the isolated network
    vmm-test that scripts/host.sh makes: they reach nothing beyond this machine)."""
    from apps.accounts.models import User
    from apps.hosts.models import Host
    from apps.hosts.services import refresh_host

    owner = User.objects.create_user("bench")
    host = Host.objects.create(
        name="bench", uri="qemu:///system", domain_type="qemu", storage_pool=pool, storage_path=pool_path,
        network="vmm-test",
    )  # fmt: skip
    refresh_host(host)
    return owner, host


def bench_world(pool=POOL, pool_path=POOL_PATH):
    """(owner, the local host with its own storage pool, the demo image imported)."""
    from apps.images.services import import_image_file

    owner, host = bench_host(pool, pool_path)
    return owner, host, import_image_file(IMAGE, name="debian-12", os_family="debian")


def panel_deploys(count, ssh_key):
    from apps.jobs import runner
    from apps.vms.create import create_vm

    owner, _host, image = bench_world()
    durations, steps, vms = [], {}, []
    for i in range(count):
        started = time.monotonic()
        vm, job = create_vm(
            owner,
            name=f"bench-{i}",
            image=image,
            vcpus=1,
            memory_mb=768,
            disk_gb=3,
            password="Bench-Horse-7",
            ssh_keys=[ssh_key],
        )
        job = runner.execute(job.pk)
        durations.append(time.monotonic() - started)
        if job.status != "succeeded":
            raise RuntimeError(f"panel deploy failed: {job.error}")
        for step in job.steps.all():
            steps.setdefault(step.name, []).append(step.duration.total_seconds())
        vms.append(vm)
    for vm in vms:
        runner.execute(runner.submit("vm_delete", vm).pk)
    return durations, steps, image


def direct_deploys(count, ssh_key, work, image_path):
    from apps.virt.appliance import guestfs_env
    from apps.vms.guest_config import customize_args
    from apps.vms.validators import hash_root_password

    password_hash = hash_root_password("Bench-Horse-7")

    durations = []
    for i in range(count):
        started = time.monotonic()
        name = f"vmmbench-direct-{i}"
        disk = Path(POOL_PATH) / f"{name}.qcow2"
        subprocess.run(
            [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-b",
                str(image_path),
                "-F",
                "qcow2",
                str(disk),
                str(3 * 2**30),
            ],
            check=True,
        )
        # The same arguments as the panel's deploy, the password given as a hash.
        args = customize_args(
            {"hostname": name, "timezone": "UTC", "root_password_hash": password_hash, "ssh_keys": [ssh_key]}
        )
        subprocess.run(
            ["virt-customize", "--no-network", "-q", "-a", str(disk), *args],
            check=True,
            env={**os.environ, **guestfs_env()},
            capture_output=True,
        )
        xml = work / f"{name}.xml"
        xml.write_text(f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>768</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os><features><acpi/><apic/></features>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk><interface type='network'><source network='vmm-test'/><model type='virtio'/>
</interface><serial type='pty'/><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
</devices></domain>""")
        virsh("define", str(xml))
        virsh("start", name)
        wait_for_lease(name)
        durations.append(time.monotonic() - started)
        virsh("destroy", name, check=False)
        virsh("undefine", name, check=False)
        disk.unlink(missing_ok=True)
    return durations


def linked_clone_ms(size_gib, work, rounds=9):
    """Median time of a linked clone (through the driver) of a base image with `size_gib` of data."""
    from apps.virt.driver import Hypervisor

    driver = Hypervisor("qemu:///system")
    raw = work / f"base-{size_gib}.raw"
    subprocess.run(
        ["dd", "if=/dev/urandom", f"of={raw}", "bs=16M", f"count={size_gib * 64}", "status=none"], check=True
    )
    base = driver.upload_volume(POOL, f"vmmbench-base-{size_gib}.raw", str(raw), "raw")
    raw.unlink()
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        driver.clone_volume_linked(POOL, f"vmmbench-clone-{size_gib}-{i}.qcow2", base.path, base.capacity_bytes)
        times.append((time.perf_counter() - started) * 1000)
        driver.delete_volume(POOL, f"vmmbench-clone-{size_gib}-{i}.qcow2")
    driver.delete_volume(POOL, base.name)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=2)
    args = parser.parse_args()
    with throwaway_panel() as (work, key_path):
        ssh_key = key_path.with_suffix(".pub").read_text().strip()
        panel, steps, image = panel_deploys(args.vms, ssh_key)
        from apps.hosts.hypervisor import hypervisor_for
        from apps.hosts.models import Host

        copy_path = image.copies.get().path
        direct = direct_deploys(args.vms, ssh_key, work, copy_path)
        clone_1g = linked_clone_ms(1, work)
        clone_4g = linked_clone_ms(4, work)
        # Step times of deploys after the first (the image copy is made once per host).
        step_summary = ",".join(
            f"{name.lower().replace(' ', '_')}:{statistics.median(values[1:] or values):.2f}"
            for name, values in steps.items()
        )
        print(f"panel deploys: {[round(d, 1) for d in panel]} s; direct: {[round(d, 1) for d in direct]} s")
        ratio = statistics.median(panel[1:] or panel) / statistics.median(direct)
        print(
            f"deploy_overhead_ratio={ratio:.2f} linked_clone_ms={statistics.median([clone_1g, clone_4g]):.1f} "
            f"linked_clone_1g_ms={clone_1g:.1f} linked_clone_4g_ms={clone_4g:.1f} steps={step_summary}"
        )
        driver = hypervisor_for(Host.objects.get())
        for volume in driver.list_volumes(POOL):
            driver.delete_volume(POOL, volume.name)
        driver.delete_pool(POOL, remove_dir=True)


if __name__ == "__main__":
    main()
