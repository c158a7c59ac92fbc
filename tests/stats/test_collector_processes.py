"""Two real `manage.py collect_stats` processes on the test database: they share the hosts,
no host is swept by both, and when one is killed the other takes its hosts over."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from apps.stats.models import HostSample, Lease, Tier
from apps.stats.sharding import assign, host_key

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 1


def environment(tmp_path):
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vmmanager.settings",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "VMM_DATA_DIR": str(tmp_path),
        "VMM_STATS_INTERVAL": str(INTERVAL),
        "SECRET_KEY": settings.SECRET_KEY,
    }


def names_that_split(keys):
    """Two collector names between which rendezvous hashing gives each at least one host
    (with few hosts, some pairs of names would leave one collector idle)."""
    for n in range(100):
        pair = (f"alpha-{n}", f"beta-{n}")
        if set(assign(keys, pair).values()) == set(pair):
            return pair
    raise AssertionError("no pair of names splits the hosts")


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def rows(host_id, since=None):
    query = HostSample.objects.filter(tier=Tier.RAW, host_id=host_id)
    return query.filter(at__gt=since).count() if since else query.count()


def test_two_collector_processes_share_hosts_without_double_work_and_survive_a_kill(node_host, tmp_path):
    hosts = [node_host(f"p{i}", vms=2)[0] for i in range(6)]
    keys = {host_key(h.pk) for h in hosts}
    first, second = names_that_split(keys)
    env = environment(tmp_path)
    procs = {}
    for name in (first, second):
        log = open(tmp_path / f"{name}.log", "w")
        procs[name] = subprocess.Popen(
            [sys.executable, "manage.py", "collect_stats", "--name", name],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(lambda: all(rows(h.pk) >= 2 for h in hosts), 60, "every host swept twice")
        wait_for(lambda: set(Lease.objects.filter(key__in=keys).values_list("owner", flat=True)) == {first, second},
                 20, "both collectors hold hosts")  # fmt: skip

        # Over a window, each host is swept at most once per interval: by one collector only.
        before = {h.pk: rows(h.pk) for h in hosts}
        time.sleep(5 * INTERVAL)
        for host in hosts:
            assert rows(host.pk) - before[host.pk] <= 5 + 1, f"{host.name} swept more than once per interval"

        owned_by_first = {h.pk for h in hosts if Lease.objects.get(key=host_key(h.pk)).owner == first}
        os.killpg(procs[first].pid, signal.SIGKILL)  # no clean exit: its leases must expire
        procs[first].wait()
        killed_at = datetime.now(tz=UTC)
        wait_for(lambda: all(rows(pk, since=killed_at) >= 2 for pk in owned_by_first), 30, "takeover")
        assert set(Lease.objects.filter(key__in=keys).values_list("owner", flat=True)) == {second}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
