"""The panel's container image for real: built with podman from the Dockerfile
(scripts/container-image.sh), run with host networking against the local PostgreSQL (a
fresh database per session) and Redis (db 11), as providers run it (docs/containers.md)."""

import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
TAG = "localhost/vmmanager:test"
ADMIN = ("admin", "container-admin-" + secrets.token_hex(4))
REDIS_URL = "redis://127.0.0.1:6379/11"
SERVER = "postgres://postgres@127.0.0.1:5432"


# Every container and volume the tests make carries this label, so that what a killed run
# left behind is removed at the start of the next.
LABEL = "vmmanager.containertest=1"


def podman_env():
    cache = os.environ.get("VMM_CACHE", "/var/cache/vmmanager")
    podman_dir = os.environ.get("VMM_PODMAN_DIR", f"{cache}/podman")
    return {
        **os.environ,
        "CONTAINERS_STORAGE_CONF": f"{podman_dir}/storage.conf",
        "CONTAINERS_CONF": f"{podman_dir}/containers.conf",
    }


def podman(*args, check=True, timeout=120, input=None):
    """Run podman with the project's storage; returns the CompletedProcess (text)."""
    proc = subprocess.run(
        ["podman", *args], env=podman_env(), capture_output=True, text=True, timeout=timeout, input=input
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def free_port(address="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout, what, interval=0.5):
    """Poll `condition()` until it returns a truthy value (returned) or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(interval)


def remove_fresh_host(name):
    """Remove a prepare-host test host, after stopping what libvirt runs in it (its network
    is a bridge in this machine's network namespace: it must not outlive the container)."""
    script = """v() { virsh -q -c qemu:///system "$@"; }
        if [ -e /run/libvirtd.pid ]; then v net-destroy vmmprep; v pool-destroy vmmanager; fi
        for d in libvirtd virtlogd sshd-test; do pid="$(cat /run/$d.pid 2>/dev/null)" && kill "$pid"; done
        sleep 0.5"""
    podman("exec", name, "sh", "-c", script, check=False, timeout=60)
    podman("rm", "-f", "-t", "5", name, check=False, timeout=60)


@pytest.fixture(scope="session")
def leftovers():
    """Remove containers and volumes an earlier, killed run of these tests left behind.
    Only the podman tests ask for it (through `image`), never the lint and docs tests of
    this folder: those may run in another test lane at the same time (tests/lanes.py)."""
    if shutil.which("podman") is None:
        return  # not installed yet: nothing can be left over (the image fixture installs it)
    names = podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}", check=False).stdout.split()
    for name in names:
        if name.startswith("vmm-fresh-host-"):
            remove_fresh_host(name)
        else:
            podman("rm", "-f", "-t", "5", name, check=False, timeout=60)
    volumes = podman("volume", "ls", "--filter", f"label={LABEL}", "--format", "{{.Name}}", check=False).stdout
    for volume in volumes.split():
        podman("volume", "rm", "-f", volume, check=False)


@pytest.fixture(scope="session")
def image(leftovers):
    """The image, built from this checkout (cached layers make a rebuild seconds), and the
    PostgreSQL and Redis images compose.yaml uses."""
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts/container-image.sh"), "--with-services", TAG],
        capture_output=True,
        text=True,
        timeout=3000,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    print(f"image {TAG} built in {time.monotonic() - started:.1f} s")
    return TAG


@pytest.fixture(scope="session")
def database():
    """A fresh PostgreSQL database for the containers (dropped at the end)."""
    name = f"vmm_a_ctr_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{SERVER}/{name}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Panel:
    """A running container of the image in some role."""

    def __init__(self, name, port=None):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}" if port else None

    def manage(self, *args, check=True, timeout=180):
        return podman("exec", self.name, "/app/docker/entrypoint.sh", "manage", *args, check=check, timeout=timeout)

    def logs(self):
        proc = podman("logs", self.name, check=False)
        return (proc.stdout + proc.stderr)[-6000:]

    def state(self):
        return podman("inspect", "-f", "{{.State.Status}}", self.name, check=False).stdout.strip()


def start(image, role, env, volume, port=None):
    name = f"vmm-ctr-{role}-{uuid.uuid4().hex[:6]}"
    args = ["run", "-d", "--name", name, "--label", LABEL, "--network=host", "--init", "--pull=never"]
    args += ["-v", f"{volume}:/data"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    podman(*args, image, role)
    return Panel(name, port)


def stop(panel):
    """Stop like an orchestrator does (SIGTERM, then 10 s) and remove; returns the exit code."""
    podman("stop", "-t", "10", panel.name, check=False, timeout=60)
    code = podman("inspect", "-f", "{{.State.ExitCode}}", panel.name, check=False).stdout.strip()
    podman("rm", "-f", panel.name, check=False, timeout=60)
    return code


@pytest.fixture(scope="session")
def panel_env(database):
    # Jobs queued by earlier runs in this Redis db must not reach this session's worker.
    subprocess.run(["redis-cli", "-n", "11", "FLUSHDB"], capture_output=True, check=False)
    return {
        "DATABASE_URL": database,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "VMM_ADMIN_USER": ADMIN[0],
        "VMM_ADMIN_PASSWORD": ADMIN[1],
        "VMM_WORKERS": "1",
        # A host check of a throw-away test host whose libvirtd was stopped on purpose says
        # so after 10 s rather than the default minute (test_prepare_host.py).
        "VMM_HOST_OUTAGE_WINDOW": "10",
        # A removed worker container's job is settled 5 s after its last heartbeat (test_image.py).
        "VMM_WORKER_HEARTBEAT_SECONDS": "1",
        "VMM_WORKER_SILENT_SECONDS": "5",
    }


@pytest.fixture(scope="session")
def volume():
    name = f"vmm-ctr-data-{uuid.uuid4().hex[:6]}"
    podman("volume", "create", "--label", LABEL, name)
    yield name
    podman("volume", "rm", "-f", name, check=False)


@pytest.fixture(scope="session")
def web(image, panel_env, volume):
    """The web role on a free port, once its HEALTHCHECK says healthy."""
    port = free_port()
    panel = start(image, "web", {**panel_env, "VMM_PORT": str(port)}, volume, port)

    def healthy():
        if panel.state() not in ("running", "created"):
            raise AssertionError(f"the web container stopped:\n{panel.logs()}")
        return podman("healthcheck", "run", panel.name, check=False).returncode == 0

    started = time.monotonic()
    wait_for(healthy, 240, f"the web container healthy ({panel.name})", interval=1)
    print(f"web healthy {time.monotonic() - started:.1f} s after start")
    yield panel
    # Stopped like an orchestrator stops it: SIGTERM ends daphne within the grace period.
    assert stop(panel) in ("0", "143")


def login(panel):
    """A requests session signed in through the login form (CSRF like a browser)."""
    session = requests.Session()
    page = session.get(f"{panel.url}/login/", timeout=30)
    assert page.status_code == 200
    response = session.post(
        f"{panel.url}/login/",
        data={"username": ADMIN[0], "password": ADMIN[1], "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{panel.url}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:2000]
    return session
