"""The container test hosts a bench script runs against (scripts/testhosts.sh, podman):
start and stop them, the environment podman needs, and a shell command inside one."""

import os
import re
import subprocess
import sys
from pathlib import Path

TESTHOSTS = Path(__file__).resolve().parent.parent / "scripts" / "testhosts.sh"


def testhosts(*args):
    """Run `scripts/testhosts.sh ARGS`; its output. Exits the bench if it fails."""
    done = subprocess.run(["bash", str(TESTHOSTS), *args], capture_output=True, text=True, timeout=900)
    if done.returncode:
        sys.exit(f"testhosts.sh {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def podman_env():
    """This environment plus the variables testhosts.sh says podman needs."""
    match = re.search(r"^export (.+)$", testhosts("status"), re.M)
    return {**os.environ, **dict(pair.split("=", 1) for pair in match.group(1).split())}


def in_container(env, name, script):
    """Run `script` with sh inside test host `name`'s container."""
    subprocess.run(["podman", "exec", f"vmm-{name}", "sh", "-c", script], env=env, check=True, timeout=60)
