"""Bench: list 50 VMs as a reseller through the real API (URLconf, middleware, token auth,
DRF, serializers) against PostgreSQL holding 100,000 VMs of 2,000 customers (`--customers`,
50 VMs each).

    .venv/bin/python bench/api.py [--requests 200] [--customers 2000] [--profile 50] [--prepared-statements]

`--profile N` also prints where N list requests spend their time (cProfile, by cumulative
time). `--prepared-statements` runs the panel with `DB_PREPARED_STATEMENTS=true` (both
endpoints alike; the bench's client keeps its connection, as `DB_CONN_MAX_AGE` does).

Uses its own database (`<DATABASE_URL's name>_bench`), dropped at the end. The last line is

    queries_per_list=<n> list_p50_ms=<n> list_p95_ms=<n> me_p95_ms=<n> ratio_to_minimal_endpoint=<n>
    p95_ratio=<n> ui_queries=<n> ui_list_p50_ms=<n> ui_list_p95_ms=<n>

(one line) where `ratio_to_minimal_endpoint` compares the list's p50 with /api/v1/me/'s (same
auth, one row), `p95_ratio` their p95s, and `ui_*` the web UI's VM list (/vms/, 25 rows, the
reseller's session) timed alongside /account/."""

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

BENCH_DB = BenchDatabase("_bench")
os.environ.update(
    DATABASE_URL=BENCH_DB.url,
    DJANGO_SETTINGS_MODULE="vmmanager.settings",
    VMM_DATA_DIR=tempfile.mkdtemp(prefix="vmm-bench-"),
    ALLOWED_HOSTS="testserver",
    VMM_API_RATE_USER="1000000/min",
    DEBUG="false",
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def populate(customers=200, vms_per_customer=50):
    from apps.accounts.models import Role, User
    from apps.accounts.tokens import ApiToken
    from apps.hosts.models import Host, HostStatus
    from apps.images.models import Image, ImageStatus, Visibility
    from apps.vms.models import PowerState, VirtualMachine, VmStatus

    reseller = User.objects.create_user("bench-reseller", role=Role.RESELLER)
    users = User.objects.bulk_create(
        User(username=f"customer-{i:03d}", role=Role.CUSTOMER, reseller=reseller, password="!")
        for i in range(customers)
    )
    hosts = [  # one by one: save() puts a host into its cluster
        Host.objects.create(name=f"kvm-{i}", uri=f"qemu+ssh://root@kvm-{i}/system", status=HostStatus.ONLINE)
        for i in range(4)
    ]
    image = Image.objects.create(
        name="debian-12", visibility=Visibility.PUBLIC, status=ImageStatus.READY,
        virtual_size_bytes=2**31, checksum_sha256="0" * 64,
    )  # fmt: skip
    VirtualMachine.objects.bulk_create(
        (
            VirtualMachine(
                name=f"vm-{n:02d}",
                owner=user,
                host=hosts[(i + n) % 4],
                image=image,
                status=VmStatus.ACTIVE,
                power_state=PowerState.RUNNING,
                hostname=f"vm-{n:02d}",
                ip_addresses=["198.51.100.1"],
            )  # fmt: skip
            for i, user in enumerate(users)
            for n in range(vms_per_customer)
        ),
        batch_size=2000,
    )
    from django.utils import timezone

    from apps.stats.traffic import month_of
    from apps.traffic.models import TrafficPeriod

    month = month_of(timezone.now())  # a live panel has this month's traffic row for every VM
    TrafficPeriod.objects.bulk_create(
        (TrafficPeriod(vm_id=pk, month=month, rx_bytes=pk * 1000, tx_bytes=pk * 10)
         for pk in VirtualMachine.objects.values_list("pk", flat=True).iterator()),
        batch_size=5000,
    )  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum does on a live database
        cursor.execute("ANALYZE")
    return ApiToken.objects.issue(reseller, "bench")[1], reseller


def timed_get(client, url, token):
    """One request (with the token; None: the client's session): (milliseconds, queries, response)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        response = client.get(url, **headers)
        elapsed = (time.perf_counter() - began) * 1000
        queries = len(captured)  # read now: the next request empties the log
    assert response.status_code == 200, response.content[:300]
    return elapsed, queries, response


def measure(client, urls, token, count):
    """`count` rounds of one request to each of `urls`, interleaved so both see the same
    machine load. Returns {url: (times, max queries, last response)}."""
    out = {url: ([], 0, None) for url in urls}
    for _ in range(count):
        for url in urls:
            elapsed, queries, response = timed_get(client, url, token)
            times, most, _ = out[url]
            times.append(elapsed)
            out[url] = (times, max(most, queries), response)
    return out


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def profile(client, url, token, count):
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(40)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--prepared-statements", action="store_true")
    args = parser.parse_args()
    if args.prepared_statements:
        os.environ["DB_PREPARED_STATEMENTS"] = "true"
    BENCH_DB.create()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        call_command("migrate", verbosity=0)
        began = time.perf_counter()
        token, reseller = populate(customers=args.customers)
        took = time.perf_counter() - began
        print(f"populated {args.customers * 50:,} VMs of {args.customers:,} customers in {took:.1f}s")
        client = Client()
        list_url, me_url = "/api/v1/vms/?page_size=50", "/api/v1/me/"
        measure(client, [list_url, me_url], token, 20)  # warm up
        results = measure(client, [list_url, me_url], token, args.requests)
        list_times, list_queries, response = results[list_url]
        me_times, me_queries, _ = results[me_url]
        assert len(response.json()["results"]) == 50
        sizes = {size: measure(client, [f"/api/v1/vms/?page_size={size}"], token, 3) for size in (5, 200)}
        small, big = (sizes[size][f"/api/v1/vms/?page_size={size}"][1] for size in (5, 200))
        print(f"queries: page_size=5 -> {small}, 50 -> {list_queries}, 200 -> {big}; /api/v1/me/ -> {me_queries}")
        print(f"me_p50_ms={statistics.median(me_times):.2f}")
        if args.prepared_statements:
            from django.db import connection

            with connection.cursor() as cursor:  # what the requests above left prepared
                cursor.execute("SELECT count(*), coalesce(sum(generic_plans), 0) FROM pg_prepared_statements")
                prepared, generic = cursor.fetchone()
            print(f"prepared statements: {prepared} ({generic} runs on a generic plan: not planned again)")
        if args.profile:
            profile(client, list_url, token, args.profile)
        ratio = statistics.median(list_times) / statistics.median(me_times)
        ratio_p95 = percentile(list_times, 95) / percentile(me_times, 95)
        ui = Client()
        ui.force_login(reseller)
        ui_url, ui_small = "/vms/", "/account/"
        measure(ui, [ui_url, ui_small], None, 5)  # warm up
        ui_results = measure(ui, [ui_url, ui_small], None, max(20, args.requests // 4))
        ui_times, ui_queries, _ = ui_results[ui_url]
        small_times = ui_results[ui_small][0]
        print(
            f"ui: {ui_url} p50 {statistics.median(ui_times):.2f} ms, "
            f"{ui_small} p50 {statistics.median(small_times):.2f} ms"
        )
        print(
            f"queries_per_list={list_queries} list_p50_ms={statistics.median(list_times):.2f} "
            f"list_p95_ms={percentile(list_times, 95):.2f} me_p95_ms={percentile(me_times, 95):.2f} "
            f"ratio_to_minimal_endpoint={ratio:.2f} p95_ratio={ratio_p95:.2f} ui_queries={ui_queries} "
            f"ui_list_p50_ms={statistics.median(ui_times):.2f} ui_list_p95_ms={percentile(ui_times, 95):.2f}"
        )
    finally:
        BENCH_DB.drop()


if __name__ == "__main__":
    main()
