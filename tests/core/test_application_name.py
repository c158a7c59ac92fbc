"""PostgreSQL is told which of the panel's processes each connection is: a DBA's
pg_stat_activity says `vmmanager web`, `vmmanager worker`, ... (vmmanager/process_name.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.worker_process import worker_env
from vmmanager.process_name import process_name

ROOT = Path(__file__).resolve().parents[2]
ASK = (
    "from django.db import connection; c = connection.cursor(); "
    "c.execute('SHOW application_name'); print(c.fetchone()[0])"
)


def name_seen_by_postgresql(tmp_path, *argv, **env):
    """What PostgreSQL calls the connection of `manage.py <argv>` (the command runs ASK)."""
    proc = subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env={**worker_env(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.django_db
def test_a_command_is_named_in_postgresql_by_what_it_is(tmp_path):
    env = {"VMM_PROCESS": ""}
    assert name_seen_by_postgresql(tmp_path, "manage.py", "shell", "-c", ASK, **env) == "vmmanager shell"
    env = {"VMM_PROCESS": "web-2"}
    assert name_seen_by_postgresql(tmp_path, "manage.py", "shell", "-c", ASK, **env) == "vmmanager web-2"


def test_the_panels_roles_have_their_names():
    assert process_name(["/app/.venv/bin/daphne", "-b", "0.0.0.0"]) == "web"
    assert process_name(["/usr/lib/python3/site-packages/daphne/__main__.py"]) == "web"  # python -m daphne
    assert process_name(["manage.py", "qcluster"]) == "worker"
    assert process_name(["/app/manage.py", "collect_stats"]) == "collector"
    assert process_name(["manage.py", "watch_hosts"]) == "watcher"
    assert process_name(["manage.py", "console_bridge"]) == "console"
    assert process_name(["manage.py", "migrate"]) == "migrate"
