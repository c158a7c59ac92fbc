"""compose.yaml for real with podman-compose: every service comes up (web migrates on
start, the other roles wait for it), and what the panel stored survives `down` and `up`."""

import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.container.conftest import ADMIN, ROOT, Panel, free_port, login, podman, podman_env, wait_for

pytestmark = [pytest.mark.container, pytest.mark.slow]

PODMAN_COMPOSE = str(Path(sys.executable).parent / "podman-compose")


@pytest.fixture
def project(image, tmp_path):
    """compose.yaml in a folder of its own with a .env as docs/containers.md says."""
    name = f"vmmtest{uuid.uuid4().hex[:6]}"
    shutil.copy(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    port = free_port()
    (tmp_path / ".env").write_text(
        f"POSTGRES_PASSWORD={secrets.token_urlsafe(16)}\nSECRET_KEY={secrets.token_urlsafe(40)}\n"
        f"VMM_ADMIN_USER={ADMIN[0]}\nVMM_ADMIN_PASSWORD={ADMIN[1]}\n"
        f"VMM_HTTP_PORT={port}\nVMM_IMAGE={image}\nVMM_WORKERS=1\n"
    )

    def compose(*args, timeout=300):
        proc = subprocess.run(
            [PODMAN_COMPOSE, "-p", name, "-f", str(tmp_path / "compose.yaml"), *args],
            cwd=tmp_path,
            env=podman_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert proc.returncode == 0, f"podman-compose {' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    compose.name = name
    compose.port = port
    try:
        yield compose
    finally:
        compose("down", "-v", "-t", "10")


def wait_healthy(panel):
    def healthy():
        state = panel.state()
        if state in ("exited", "stopped"):
            raise AssertionError(f"{panel.name} stopped:\n{panel.logs()}")
        return state == "running" and podman("healthcheck", "run", panel.name, check=False).returncode == 0

    wait_for(healthy, 240, f"{panel.name} healthy", interval=1)


def test_the_services_come_up_and_the_data_survives_down_and_up(project):
    web = Panel(f"{project.name}_web_1", project.port)
    project("up", "-d")
    wait_healthy(web)
    # The other roles wait for the migrations, then run (the watcher and collector as well).
    for role in ("worker", "collector", "watcher"):
        wait_healthy(Panel(f"{project.name}_{role}_1"))
    session = login(web)
    made = session.post(
        f"{web.url}/api/v1/tokens/",
        json={"name": "kept-across-restarts"},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": web.url},
        timeout=30,
    )
    assert made.status_code == 201, made.text[:2000]
    key = web.manage("host", "key").stdout.strip()

    project("down", "-t", "10")
    assert podman("ps", "-a", "--filter", f"name={project.name}_", "--format", "{{.Names}}").stdout.strip() == ""
    volumes = podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert {f"{project.name}_data", f"{project.name}_postgres", f"{project.name}_redis"} <= set(volumes)

    project("up", "-d", "web")  # with what it depends on: PostgreSQL and Redis
    wait_healthy(web)
    session = login(web)  # the same admin: made once, on the first start only
    tokens = session.get(f"{web.url}/api/v1/tokens/", timeout=30).json()["results"]
    assert [t["name"] for t in tokens] == ["kept-across-restarts"]
    assert web.manage("host", "key").stdout.strip() == key  # the SSH key is in the data volume
