"""Guest files the project's scripts build once and cache (scripts/tiny-guest.sh,
scripts/rescue-system.sh): their stdout contract is `kernel=PATH` and `initrd=PATH` lines."""

import subprocess
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def kernel_and_initrd(script):
    """``(kernel, initrd)`` paths from `script` (a file name in scripts/), built if needed."""
    out = subprocess.run(
        ["bash", str(SCRIPTS / script)], check=True, capture_output=True, text=True, timeout=900
    ).stdout
    paths = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return paths["kernel"], paths["initrd"]
