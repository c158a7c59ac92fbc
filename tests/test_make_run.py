"""`make run` on the embedded default (SQLite, ORM broker, SQLite channel layer):
the panel answers on its port, then Ctrl-C stops everything it started."""

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.libvirt]


def wait_for(url, proc, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response
        except OSError:
            time.sleep(0.5)
    return None


def test_make_run_starts_the_panel_on_the_embedded_default_and_ctrl_c_stops_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        VMM_DATA_DIR=str(tmp_path / "data"),
        VMM_PORT="18765",
        VMM_CONSOLE_BRIDGE="127.0.0.1:18766",
        VMM_ADMIN_PASSWORD="pw-make-run-1",
    )
    log = open(tmp_path / "make-run.log", "w+")
    proc = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        response = wait_for("http://127.0.0.1:18765/healthz", proc, 300)
        log.seek(0)
        output = log.read()
        assert response is not None, output[-3000:]
        assert response.status == 200
        with urllib.request.urlopen("http://127.0.0.1:18765/admin/login/", timeout=5) as login:
            assert b"vmmanager" in login.read() or login.status == 200
        assert (tmp_path / "data" / "db.sqlite3").exists()
        assert "host: local online" in output
        assert "image:" in output
        running = processes_with_env(f"VMM_DATA_DIR={tmp_path / 'data'}")
        assert any("daphne" in p for p in running) and any("qcluster" in p for p in running), running
        assert any("watch_hosts" in p for p in running), running
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            # The servers run in process groups of their own: kill them too, or the panel
            # would keep the port and fail every later run of this test on this machine.
            for entry in processes_with_env(f"VMM_DATA_DIR={tmp_path / 'data'}"):
                with contextlib.suppress(OSError):
                    os.kill(int(entry.split(":", 1)[0]), signal.SIGKILL)
            raise
    with pytest.raises(OSError):
        urllib.request.urlopen("http://127.0.0.1:18765/healthz", timeout=2)
    leftover = []
    for _ in range(20):  # everything it started, whatever process group it runs in
        leftover = processes_with_env(f"VMM_DATA_DIR={tmp_path / 'data'}")
        if not leftover:
            break
        time.sleep(0.5)
    assert leftover == [], f"still running: {leftover}"


def processes_with_env(marker):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if marker.encode() in handle.read().split(b"\0"):
                    with open(f"/proc/{pid}/cmdline", "rb") as cmd:
                        command = cmd.read().replace(b"\0", b" ").decode(errors="replace")
                    found.append(f"{pid}: {command}")
        except OSError:
            continue
    return found
