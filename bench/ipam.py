"""Bench: taking public addresses at order time (apps.ipam.allocation.assign_for_order, in
its own transaction, as an order does) from a /16 pool with 60,000 addresses in use and 500
cooling down, against PostgreSQL; then the same from an empty /16, to show it does not depend
on how full the pool is.

    .venv/bin/python bench/ipam.py [--orders 300] [--used 60000]

Uses its own database (`<DATABASE_URL's name>_bench_ipam`), dropped at the end. Last line:

    ipam_alloc_p95_ms=<n> used=<n> ipam_alloc_p50_ms=<n> empty_pool_p95_ms=<n>

Times are per order, with the transaction's commit (an fsync on PostgreSQL's default
settings); the line before says how much of it the queries take."""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import BenchDatabase  # noqa: E402 (bench/ is on the path: scripts run from it)

BENCH_DB = BenchDatabase("_bench_ipam")
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=tempfile.mkdtemp(prefix="vmm-bench-"),
    DEBUG="false",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def populate(used, cooling=500):

    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import Role, User
    from apps.hosts.models import Host, HostStatus
    from apps.ipam.models import Address, Network
    from apps.ipam.pools import create_pool
    from apps.vms.models import VirtualMachine, VmStatus

    owner = User.objects.create_user("bench-customer", role=Role.CUSTOMER)
    host = Host.objects.create(name="kvm-1", uri="qemu+ssh://root@kvm-1/system", status=HostStatus.ONLINE)
    holder = VirtualMachine.objects.create(name="holder", owner=owner, host=host, status=VmStatus.ACTIVE)
    full = Network.objects.create(name="full", libvirt_network="public")
    empty = Network.objects.create(name="empty", libvirt_network="public2")
    began = time.perf_counter()
    full_pool = create_pool(network=full, name="full-v4", subnet="198.18.0.0/16", gateway="198.18.0.1")
    create_pool(network=empty, name="empty-v4", subnet="198.19.0.0/16", gateway="198.19.0.1")
    made = time.perf_counter() - began
    rows = Address.objects.filter(pool=full_pool)
    rows.filter(position__lt=used).update(vm=holder, assigned_at=timezone.now())
    rows.filter(position__gte=used, position__lt=used + cooling).update(released_at=timezone.now())
    with connection.cursor() as cursor:  # what autovacuum does on a live database
        cursor.execute("ANALYZE")
    print(f"made two /16 pools of {rows.count()} rows each in {made:.1f}s; {used} used, {cooling} cooling")
    return owner, host, full, empty


def measure(owner, host, network, orders, label):
    from django.db import transaction

    from apps.ipam.allocation import assign_for_order
    from apps.vms.models import VirtualMachine

    network.hosts.set([host])
    times, statements = [], []
    for i in range(orders):
        vm = VirtualMachine.objects.create(name=f"{label}-{i}", owner=owner, host=host)
        began = time.perf_counter()
        with transaction.atomic():
            taken = assign_for_order(vm, host)
            statements.append((time.perf_counter() - began) * 1000)
        times.append((time.perf_counter() - began) * 1000)
        assert len(taken) == 1
    network.hosts.clear()
    return times, statements


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--used", type=int, default=60000)
    args = parser.parse_args()
    BENCH_DB.create()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        owner, host, full, empty = populate(args.used)
        measure(owner, host, full, 20, "warm-up")
        full_times, full_statements = measure(owner, host, full, args.orders, "full")
        empty_times, _statements = measure(owner, host, empty, args.orders, "empty")
        print(
            f"before the commit (the queries alone): p50 {statistics.median(full_statements):.2f} ms, "
            f"p95 {percentile(full_statements, 95):.2f} ms"
        )
        print(
            f"ipam_alloc_p95_ms={percentile(full_times, 95):.2f} used={args.used} "
            f"ipam_alloc_p50_ms={statistics.median(full_times):.2f} "
            f"empty_pool_p95_ms={percentile(empty_times, 95):.2f}"
        )
    finally:
        BENCH_DB.drop()


if __name__ == "__main__":
    main()
