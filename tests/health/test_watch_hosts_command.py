"""Two `manage.py watch_hosts` processes against the test database: one is active, the
other waits; killing the active one hands the lease to the standby once it expires; a
SIGTERM ends a watcher cleanly and frees the lease at once."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from apps.hosts.models import Lease
from apps.hosts.watcher import LEASE_NAME
from apps.hosts.watcher_lease import current_holder
from tests.health.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LEASE = 3  # seconds (the smallest VMM_WATCHER_LEASE allowed)


def watcher_process(tmp_path, name):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vmmanager.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "VMM_DATA_DIR": str(tmp_path / name),
        "VMM_WATCHER_LEASE": str(LEASE),
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "watch_hosts"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    proc.log = log
    return proc


def pid_of(holder):
    return int(holder.split(":")[1]) if holder else None


def test_one_watcher_is_active_and_the_standby_takes_over_when_it_dies(tmp_path):
    procs = [watcher_process(tmp_path, "one"), watcher_process(tmp_path, "two")]
    try:
        active_pid = wait_for(lambda: pid_of(current_holder(LEASE_NAME)), 60)
        (active,) = [p for p in procs if p.pid == active_pid]
        (standby,) = [p for p in procs if p is not active]

        # A whole lease length of renewals passes while the standby keeps trying: the lease stays put.
        since = Lease.objects.get(name=LEASE_NAME).renewed_at
        wait_for(lambda: Lease.objects.get(name=LEASE_NAME).renewed_at > since + timedelta(seconds=LEASE), 30)
        assert pid_of(current_holder(LEASE_NAME)) == active.pid

        active.kill()  # no clean-up: the lease has to expire
        active.wait(10)
        wait_for(lambda: pid_of(current_holder(LEASE_NAME)) == standby.pid, LEASE + 5)

        standby.send_signal(signal.SIGTERM)
        assert standby.wait(20) == 0
        assert current_holder(LEASE_NAME) is None  # released, not left to expire
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            proc.log.close()
