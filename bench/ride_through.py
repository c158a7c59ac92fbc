"""Bench: orders ride through libvirtd restarts (docs/outages.md). Real deploys of the
plain demo image (TCG guests) to a test host in a container (scripts/testhosts.sh),
while that host's libvirtd is stopped and started again `--outage` seconds later every
`--every` seconds for `--duration` seconds, as a package upgrade does. A real
`manage.py watch_hosts` runs beside it, with its default timings.

- control round: `--orders` orders placed one after the other, spread over `--duration`,
  each running in its own thread (jobs run inline, `VMM_JOBS_SYNC=true`), with no restart;
  a first order, not counted, copies the image to the host before. Its VMs are then removed.
- restart round: the same orders on the same schedule while libvirtd restarts. An order
  placed while the host is marked unreachable and placement refuses it (nothing is made) is
  placed again a second later, as a user would; the refusals are counted on their own line.
  Each order's extra time is its time minus the time of the order with the same place in
  the control round: the orders overlap and share the machine's cores, so an order alone
  would not be a fair yardstick. The seconds the orders' steps say they waited for the host
  are printed too.
- afterwards: `orphans` counts the `vmm-*` domains and volumes left on the host that belong
  to no active VM (what a failed order left behind); then everything is removed.

    .venv/bin/python bench/ride_through.py [--orders 6] [--duration 300] [--every 30] [--outage 3]

It takes /tmp/vmm-multihost.lock itself (do not wrap it in `flock` on that file), starts the
test hosts (`testhosts.sh up 1`) and removes them at the end. It uses its own database
(`<DATABASE_URL's name>_ride_bench`, dropped at the end) and REDIS_URL (default
redis://127.0.0.1:6379/15). The last line is

    orders=<n> succeeded=<n> failed=<n> orphans=<n> p95_extra_s=<x>

(`p95_extra_s`: 95th percentile, over the orders that succeeded in both rounds, of their time
in the restart round minus their time in the control round).
"""

import argparse
import fcntl
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)
from testhosts import in_container, podman_env, testhosts  # noqa: E402

BENCH_DB = BenchDatabase("_ride_bench")
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
# The plain demo image (configured by virt-customize): on the test hosts, which give guests
# no NIC, its guest agent answers in about 20 s; the cloud-init one did not come up within
# VMM_BOOT_TIMEOUT there in a trial run (not investigated further).
IMAGE = Path(os.environ.get("VMM_CACHE", "/var/cache/vmmanager")) / "images" / "debian-12-plain.qcow2"
SIZE = {"vcpus": 1, "memory_mb": 512, "disk_gb": 3}


def create_database():
    import django

    BENCH_DB.create()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def restart_libvirtd(env, host, outage):
    in_container(
        env,
        host.name,
        'pid="$(cat /run/libvirtd.pid)"; kill "$pid"; '
        'for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done',
    )
    time.sleep(outage)
    in_container(env, host.name, "rm -f /run/libvirtd.pid; libvirtd -d --listen")


def order(owner, image, name, results, refused):
    from django.core.exceptions import ValidationError
    from django.db import connection

    from apps.vms.create import create_vm

    started = time.monotonic()
    try:
        while True:
            try:
                _vm, job = create_vm(owner, name=name, image=image, password="Correct-Horse-7", **SIZE)
                break
            except ValidationError as e:
                # Ordered while the only host is marked unreachable: placement refuses the
                # order at once (nothing is created); the user orders again a second later.
                if "host" not in getattr(e, "message_dict", {}) or time.monotonic() - started > 120:
                    raise
                refused.append(name)
                time.sleep(1)
        job.refresh_from_db()
        results[name] = (job.status, time.monotonic() - started, job.error)
    except Exception as e:  # noqa: BLE001 - an order that could not even be placed counts as failed
        results[name] = ("failed", time.monotonic() - started, f"{type(e).__name__}: {e}")
    finally:
        connection.close()


def leftovers(driver, host):
    """`vmm-*` domains and volumes on the host that belong to no active VM."""
    from apps.vms.models import VirtualMachine, VmStatus

    active = {str(u) for u in VirtualMachine.objects.filter(status=VmStatus.ACTIVE).values_list("uuid", flat=True)}
    names = [d.name for d in driver.list_domains()] + [v.name for v in driver.list_volumes(host.storage_pool)]
    return [n for n in names if n.startswith("vmm-") and n[4:40] not in active]


def remove_all(driver, host):
    for domain in driver.list_domains():
        if domain.state != "shutoff":
            driver.destroy(domain.name)
        driver.undefine(domain.name)
    for volume in driver.list_volumes(host.storage_pool):
        driver.delete_volume(host.storage_pool, volume.name)


def run(args):
    from apps.accounts.models import Role, User
    from apps.hosts.hypervisor import hypervisor_for
    from apps.hosts.models import DomainType, Host, HostStatus
    from apps.hosts.services import refresh_host
    from apps.images.models import GuestConfig, Visibility
    from apps.images.services import import_image_file

    env = podman_env()
    name, uri = testhosts("up", "1").split()
    host = Host.objects.create(
        name=name, uri=uri, domain_type=DomainType.QEMU, network="", status=HostStatus.UNREACHABLE
    )
    refresh_host(host)
    host.refresh_from_db()
    if host.status != HostStatus.ONLINE:
        sys.exit(f"{host.name} is not usable: {host.status_reason}")
    owner = User.objects.create_user("bench-owner", password="pw-bench-1", role=Role.ADMIN)
    image = import_image_file(
        IMAGE,
        name="debian-12-plain",
        os_family="debian",
        os_version="12",
        guest_config=GuestConfig.CUSTOMIZE,
        visibility=Visibility.PUBLIC,
    )
    driver = hypervisor_for(host)
    log = open(Path(DATA_DIR) / "watcher.log", "w")  # noqa: SIM115 - closed below
    watcher = subprocess.Popen(
        [sys.executable, "manage.py", "watch_hosts"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    refused, rounds = [], {}
    try:
        warm = {}
        order(owner, image, "warm-up", warm, refused)  # copies the image to the host
        if warm["warm-up"][0] != "succeeded":
            sys.exit(f"the warm-up order failed: {warm['warm-up'][2]}")
        for label, restarts in (("calm", False), ("ride", True)):
            rounds[label] = order_round(args, env, host, owner, image, label, restarts, refused)
            print(f"{label} round: " + ", ".join(f"{took:.0f} s" for _, took, _ in rounds[label]), flush=True)
            if not restarts:
                remove_vms(driver, host, label)
        deadline = time.monotonic() + 60
        while Host.objects.get(pk=host.pk).status != HostStatus.ONLINE and time.monotonic() < deadline:
            time.sleep(0.5)
        orphans = leftovers(driver, host)
        remove_all(driver, host)
    finally:
        watcher.terminate()
        watcher.wait(30)
        log.close()

    results = rounds["ride"]
    failed = [(i, error) for i, (status, _, error) in enumerate(results) if status != "succeeded"]
    for i, error in failed:
        print(f"ride-{i} failed: {error}")
    if orphans:
        print(f"left on {host.name}: {', '.join(orphans)}")
    print(f"orders refused at placement while the host was marked unreachable (then placed again): {len(refused)}")
    print(f"seconds the orders' steps waited for the host: {waited_for_host()}")
    print("seconds per step, summed over the orders (control round / restart round):")
    calm, ride = step_seconds("calm-"), step_seconds("ride-")
    for step in ride:
        print(f"  {step}: {calm.get(step, 0):.0f} / {ride[step]:.0f}")
    extra = sorted(
        ride[1] - calm[1]
        for ride, calm in zip(results, rounds["calm"], strict=True)
        if ride[0] == "succeeded" and calm[0] == "succeeded"
    )
    p95 = extra[max(0, round(0.95 * len(extra)) - 1)] if extra else float("nan")
    if extra:
        print(f"extra time of succeeded orders: median {statistics.median(extra):.1f} s, max {extra[-1]:.1f} s")
    print(
        f"orders={len(results)} succeeded={len(results) - len(failed)} failed={len(failed)} "
        f"orphans={len(orphans)} p95_extra_s={p95:.1f}"
    )


def order_round(args, env, host, owner, image, label, restarts, refused):
    """`args.orders` orders spread over `args.duration` s (libvirtd restarting every
    `args.every` s if `restarts`); [(status, seconds, error)] in the order they were placed."""
    results, threads, stop = {}, [], threading.Event()

    def restarter():
        while not stop.wait(args.every):
            print(f"{time.strftime('%H:%M:%S')} restarting libvirtd ({args.outage} s down)", flush=True)
            restart_libvirtd(env, host, args.outage)

    chaos = threading.Thread(target=restarter)
    if restarts:
        chaos.start()
    started = time.monotonic()
    try:
        for i in range(args.orders):
            time.sleep(max(0, started + i * args.duration / args.orders - time.monotonic()))
            t = threading.Thread(target=order, args=(owner, image, f"{label}-{i}", results, refused))
            t.start()
            threads.append(t)
        if restarts:
            time.sleep(max(0, started + args.duration - time.monotonic()))
    finally:
        stop.set()
        if restarts:
            chaos.join()
        for t in threads:
            t.join()
    return [results[f"{label}-{i}"] for i in range(args.orders)]


def remove_vms(driver, host, label):
    """Remove the VMs of a round from the host and the database (they would load the machine)."""
    from apps.vms.cleanup import panel_volumes, remove_domain_and_volumes
    from apps.vms.models import VirtualMachine

    for vm in VirtualMachine.objects.filter(name__startswith=f"{label}-"):
        remove_domain_and_volumes(driver, host.storage_pool, vm.domain_name, panel_volumes(vm.uuid))
        vm.delete()


def step_seconds(prefix):
    """{step name: seconds summed over the deploy jobs of the VMs named `prefix`...}."""
    from apps.jobs.models import JobStep

    totals = {}
    steps = JobStep.objects.filter(job__target_repr__startswith=prefix, job__kind="vm_create").order_by("position")
    for step in steps:
        if step.duration is not None:
            totals[step.name] = totals.get(step.name, 0.0) + step.duration.total_seconds()
    return totals


def waited_for_host():
    """Total seconds the restart round's steps noted waiting for the host."""
    import re

    from apps.jobs.models import JobStep

    pattern = re.compile(r"unreachable for (\d+) s, reconnected|waited (\d+) s for")
    total = 0
    for detail in JobStep.objects.filter(job__target_repr__startswith="ride-").values_list("detail", flat=True):
        total += sum(int(a or b) for a, b in pattern.findall(detail))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=6)
    parser.add_argument("--duration", type=float, default=300, help="seconds of restarts")
    parser.add_argument("--every", type=float, default=30, help="seconds between restarts")
    parser.add_argument("--outage", type=float, default=3, help="seconds libvirtd stays down")
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
