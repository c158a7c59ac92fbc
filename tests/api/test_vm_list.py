"""The VM list (/api/v1/vms/): its rows are read as plain values in one query (the API's
hottest call, bench/api.py), and must say exactly what the VM's own answer says, at a cost
that does not grow with the page or the table."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.plans import Plan, TrafficAction
from apps.hosts.models import HostStatus
from apps.stats.traffic import month_of
from apps.traffic.models import TrafficPeriod
from apps.vms.models import OwedCleanup, VmStatus
from tests.api.conftest import make_vm

ROOT = Path(__file__).resolve().parents[2]


def listed(client, url="/api/v1/vms/?page_size=200"):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_each_listed_vm_is_what_its_own_answer_says(api, reseller, customer, host, ready_image):
    """Traffic in every state the list can meet (no row, a row under a plan's limit, a
    lifted one), a clean-up owed or done, a VM not placed, a suspended one, one in rescue mode, a job running."""
    plan = Plan.objects.create(
        name="small", vcpus=1, memory_mb=512, disk_gb=5, traffic_limit_gb=10, traffic_action=TrafficAction.SUSPEND
    )
    month = month_of(timezone.now())
    now = timezone.now()
    make_vm(customer, host, "plain", image=ready_image)
    limited = make_vm(reseller, host, "limited", plan=plan, ip_addresses=["198.51.100.7", "2001:db8::7"])
    TrafficPeriod.objects.create(vm=limited, month=month, rx_bytes=5, tx_bytes=2**33, synced_at=now, warned_at=now)
    TrafficPeriod.objects.create(vm=limited, month=month - timedelta(days=40), rx_bytes=99)  # an earlier month
    lifted = make_vm(customer, host, "lifted", plan=plan, suspended_at=now, suspension_reason="unpaid")
    TrafficPeriod.objects.create(
        vm=lifted, month=month, rx_bytes=2**35, reached_at=now, applied_at=now, action="suspend", lifted_at=now
    )
    owing = make_vm(customer, host, "owing")
    OwedCleanup.objects.create(host=host, vm=owing, domain_name="vmm-x")
    paid = make_vm(customer, host, "paid")
    OwedCleanup.objects.create(host=host, vm=paid, domain_name="vmm-y", done_at=now)
    make_vm(customer, None, "unplaced", status=VmStatus.FAILED)
    make_vm(customer, host, "rescued", rescue_since=now)
    host.status = HostStatus.UNREACHABLE
    host.save(update_fields=["status"])
    client = api(reseller)

    rows = listed(client)["results"]

    assert [row["name"] for row in rows] == ["rescued", "unplaced", "paid", "owing", "lifted", "limited", "plain"]
    for row in rows:
        assert row == client.get(f"/api/v1/vms/{row['id']}/").json(), row["name"]
    by_name = {row["name"]: row for row in rows}
    assert by_name["owing"]["cleanup_pending"] and not by_name["paid"]["cleanup_pending"]
    assert by_name["limited"]["traffic"]["used_bytes"] == 5 + 2**33
    assert by_name["limited"]["traffic"]["state"] == "warning"
    assert by_name["lifted"]["traffic"]["state"] == "lifted"
    assert by_name["plain"]["traffic"] == {
        "month": f"{month:%Y-%m}", "rx_bytes": 0, "tx_bytes": 0, "used_bytes": 0, "limit_bytes": None,
        "state": "unlimited", "action": "", "synced_at": None,
    }  # fmt: skip
    assert by_name["unplaced"]["host"] is None and by_name["unplaced"]["host_state"] is None
    assert by_name["plain"]["host_state"] == "unreachable"
    assert by_name["rescued"]["rescue_since"] and by_name["plain"]["rescue_since"] is None


def test_a_page_costs_the_same_queries_for_200_vms_as_for_one(api, reseller, host, ready_image):
    """The list runs a fixed number of queries, whatever the number of VMs on its page or in
    the table, with every related row a VM shows (owner, host, image, plan, traffic, clean-ups)."""
    plan = Plan.objects.create(name="p", vcpus=1, memory_mb=512, disk_gb=5, traffic_limit_gb=1)
    month = month_of(timezone.now())

    def fill(prefix, count):
        for i in range(count):
            owner = User.objects.create_user(f"{prefix}-{i}", reseller=reseller)
            vm = make_vm(owner, host, f"{prefix}-{i}", image=ready_image, plan=plan)
            TrafficPeriod.objects.create(vm=vm, month=month, rx_bytes=i)
            OwedCleanup.objects.create(host=host, vm=vm, domain_name=f"vmm-{prefix}-{i}")

    client = api(reseller)
    fill("one", 1)
    listed(client)  # the token's first use stamps it (one UPDATE a minute)
    with CaptureQueriesContext(connection) as one:
        assert len(listed(client)["results"]) == 1
    one = len(one)  # read now: each request empties the connection's query log
    fill("many", 60)

    with CaptureQueriesContext(connection) as many:
        assert len(listed(client)["results"]) == 61
    many = len(many)
    with CaptureQueriesContext(connection) as small_page:
        assert len(listed(client, "/api/v1/vms/?page_size=5&ordering=name")["results"]) == 5

    assert one == many == len(small_page) == 2  # the token with its user; the page with its traffic and clean-ups


def test_cursors_walk_every_ordering_without_gaps_or_repeats(api, customer, host):
    for i in range(7):
        make_vm(customer, host, f"vm-{(i * 3) % 7}")
    client = api(customer)
    for ordering, key in (("", "id"), ("&ordering=name", "name"), ("&ordering=-created_at", "created_at")):
        seen, url = [], f"/api/v1/vms/?page_size=3{ordering}"
        while url:
            page = listed(client, url)
            seen += [row[key] for row in page["results"]]
            url = page["next"]
        assert len(seen) == 7
        assert seen == sorted(seen, reverse=ordering != "&ordering=name"), ordering


def prepared_statements_after_repeats(extra_env):
    """How many statements a fresh panel process has prepared on its connection after
    running one query six times, against the test database."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    url = f"postgres://{quote(db['USER'])}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    code = (
        "from django.db import connection\n"
        "from apps.accounts.models import User\n"
        "for _ in range(6): User.objects.filter(username='nobody').exists()\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('SELECT count(*) FROM pg_prepared_statements')\n"
        "    print('prepared', cursor.fetchone()[0])\n"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "vmmanager.settings"}
    env.pop("DB_PREPARED_STATEMENTS", None)
    env.update(extra_env)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split("prepared")[-1])


@pytest.mark.django_db
def test_db_prepared_statements_has_postgresql_prepare_a_repeated_query():
    """DB_PREPARED_STATEMENTS=true (docs/configuration.md): a query a kept connection runs
    again and again is prepared, so PostgreSQL does not parse and plan it each time."""
    assert prepared_statements_after_repeats({"DB_PREPARED_STATEMENTS": "true"}) >= 1
    assert prepared_statements_after_repeats({}) == 0
