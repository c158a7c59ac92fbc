"""compose.yaml for real with podman-compose, started by the README's quick-start lines for
podman run exactly as written (read from README.md: a README change that breaks them fails
here): every service comes up (web migrates on start, the other roles wait for it), and
what the panel stored survives `down` and `up`."""

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.container.conftest import ADMIN, ROOT, Panel, free_port, login, podman, podman_env, wait_for

pytestmark = [pytest.mark.container, pytest.mark.slow]

PODMAN_COMPOSE = str(Path(sys.executable).parent / "podman-compose")


def readme_podman_lines():
    """The shell lines of the README's "Quick start with compose" block a podman user runs:
    every command line but docker's (comments dropped)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"### Quick start with compose\n.*?```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no sh block under 'Quick start with compose'"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    lines = [line for line in lines if line and not line.startswith("#") and not line.startswith("docker ")]
    assert lines[0] == "cp .env.example .env", lines
    assert any("podman-compose up -d" in line for line in lines), lines
    return lines


def set_env(path, **values):
    """Set `values` in the .env at `path` as a user edits it: the line of each key replaced
    (appended if the example has none)."""
    text = path.read_text()
    for key, value in values.items():
        text, found = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.M)
        if not found:
            text += f"{key}={value}\n"
    path.write_text(text)


@pytest.fixture
def project(leftovers, tmp_path):
    """A folder as a checkout looks to the README's lines (compose.yaml, .env.example, and
    the scripts and docker folders of this checkout), under a project name of its own. The
    README's line builds the images (localhost/vmmanager:latest and the services'); in a
    session that built the `image` fixture's tag already, every layer is a cache hit."""
    name = f"vmmtest{uuid.uuid4().hex[:6]}"
    for file in ("compose.yaml", ".env.example"):
        shutil.copy(ROOT / file, tmp_path / file)
    for folder in ("scripts", "docker"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    port = free_port()

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

    def readme(line, timeout=3000):
        """Run a README line as a user's shell does in the checkout: podman-compose on PATH,
        the podman variables not set (the line must set them), this project's name."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTAINERS_")}
        env.update(PATH=f"{Path(PODMAN_COMPOSE).parent}:{env['PATH']}", COMPOSE_PROJECT_NAME=name)
        proc = subprocess.run(
            ["sh", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
        )
        assert proc.returncode == 0, f"{line}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    compose.name = name
    compose.port = port
    compose.readme = readme
    compose.env = tmp_path / ".env"
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
    copy_env, *start = readme_podman_lines()
    project.readme(copy_env)
    # What the README says to set in .env (and a port and one worker of our own).
    set_env(
        project.env,
        POSTGRES_PASSWORD=secrets.token_urlsafe(16),
        SECRET_KEY=secrets.token_urlsafe(40),
        VMM_ADMIN_USER=ADMIN[0],
        VMM_ADMIN_PASSWORD=ADMIN[1],
        VMM_HTTP_PORT=project.port,
        VMM_WORKERS=1,
    )
    began = time.monotonic()
    for line in start:  # the images' build, then `up -d`
        project.readme(line)
    print(f"the README's podman lines took {time.monotonic() - began:.1f} s")
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
