"""The panel as it runs for real, for the browser tests: a daphne server (HTTP and
websockets) and a django-q2 worker, as subprocesses on the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir, queue):
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.browser.server_settings",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "VMM_DATA_DIR": str(data_dir),
        "VMM_BROWSER_QUEUE": queue,
        "SECRET_KEY": settings.SECRET_KEY,
    }


class Process:
    """A subprocess in its own process group, logging to a file; stop() ends the group."""

    def __init__(self, args, env, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w+")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def output(self):
        return Path(self.log_path).read_text()


def start_server(data_dir, queue):
    """daphne on a free loopback port; returns (process, base URL) once it answers."""
    port = free_port()
    server = Process(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "vmmanager.asgi:application"],
        environment(data_dir, queue),
        data_dir / "daphne.log",
    )
    wait_for_port(server, port)
    return server, f"http://127.0.0.1:{port}"


def wait_for_port(server, port, seconds=30):
    """Return once `server` (a Process) answers on `port`; stop it and raise if it exits or
    does not answer in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"daphne exited:\n{server.output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"daphne did not answer on port {port}:\n{server.output()}")


def start_worker(data_dir, queue):
    return Process([sys.executable, "manage.py", "qcluster"], environment(data_dir, queue), data_dir / "worker.log")


def start_watcher(data_dir, queue):
    """`manage.py watch_hosts`: pushes power changes made outside the panel to open pages."""
    return Process([sys.executable, "manage.py", "watch_hosts"], environment(data_dir, queue), data_dir / "watcher.log")


def start_console_bridge(data_dir, queue):
    """`manage.py console_bridge` on VMM_CONSOLE_BRIDGE (set in this process's environment, so
    that daphne, started after it, reaches the same address)."""
    return Process(
        [sys.executable, "manage.py", "console_bridge"], environment(data_dir, queue), data_dir / "console_bridge.log"
    )


def new_queue():
    return f"vmm-browser-{uuid.uuid4().hex[:8]}"
