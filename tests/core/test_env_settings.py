import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from vmmanager.env import env_bool, env_int, env_url

ROOT = Path(__file__).resolve().parents[2]


def test_a_boolean_that_is_not_one_is_a_startup_error(monkeypatch):
    monkeypatch.setenv("VMM_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="VMM_FLAG"):
        env_bool("VMM_FLAG")


def test_booleans_and_integers_parse_strictly(monkeypatch):
    monkeypatch.setenv("VMM_FLAG", "Yes")
    monkeypatch.setenv("VMM_NUMBER", "12")
    assert env_bool("VMM_FLAG") is True
    assert env_int("VMM_NUMBER", 1) == 12
    monkeypatch.setenv("VMM_NUMBER", "12s")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("VMM_NUMBER", 1)
    monkeypatch.setenv("VMM_NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env_int("VMM_NUMBER", 1, minimum=1)


def test_a_database_url_of_an_unknown_kind_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://x@y/z")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env_url("DATABASE_URL", ("postgres", "sqlite"))


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"DEBUG": "sometimes"}, "DEBUG='sometimes' is not a boolean"),
        # A worker a beat late would lose its job to the reconciler (apps/jobs/heartbeat.py).
        (
            {"VMM_WORKER_HEARTBEAT_SECONDS": "10", "VMM_WORKER_SILENT_SECONDS": "20"},
            "VMM_WORKER_SILENT_SECONDS must be more than twice VMM_WORKER_HEARTBEAT_SECONDS (20 <= 2 x 10)",
        ),
    ],
    ids=["boolean", "heartbeat"],
)
def test_the_panel_refuses_to_start_with_a_bad_setting(tmp_path, variables, says):
    env = {**os.environ, **variables, "VMM_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": ""}
    env.pop("DJANGO_SETTINGS_MODULE")
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert says in proc.stderr
