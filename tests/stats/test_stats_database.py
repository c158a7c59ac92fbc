"""STATS_DATABASE_URL for real: the statistics tables migrated into a database of their
own (here an SQLite file, the embedded default's engine) and a collector writing there,
while hosts and VMs are read from the main database, which gets no sample at all."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from apps.stats.models import VmSample

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, env):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def test_a_collector_writes_to_the_statistics_database_and_not_to_the_main_one(node_host, tmp_path):
    host, vms = node_host("split", vms=3)
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    stats_file = tmp_path / "stats.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vmmanager.settings",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "STATS_DATABASE_URL": f"sqlite:///{stats_file}",
        "VMM_DATA_DIR": str(tmp_path),
        "SECRET_KEY": settings.SECRET_KEY,
    }
    manage("migrate", "--database", "stats", "-v0", env=env)
    manage("collect_stats", "--once", env=env)

    with sqlite3.connect(stats_file) as stats:
        stored = {row for row in stats.execute("SELECT vm_id, host_id FROM stats_vmsample")}
        tables = {row[0] for row in stats.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert stored == {(vm.pk, host.pk) for vm in vms}
    assert "vms_virtualmachine" not in tables and "stats_lease" in tables  # nothing else migrated there
    assert not VmSample.objects.exists()  # the main database (where this test's ORM looks) got nothing
