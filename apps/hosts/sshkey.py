"""The panel's own SSH key, used to reach qemu+ssh:// hosts.

Contract:
- The key pair lives in ``settings.VMM_SSH_DIR`` (default ``$VMM_DATA_DIR/ssh``):
  ``id_ed25519`` (0600) and ``id_ed25519.pub``, next to ``known_hosts`` where the SSH client
  records each host's key on first contact (the container's ssh config says so:
  docker/ssh_config; docs/containers.md).
- ``public_key()`` returns the one-line public key, generating the pair on first need.
  Safe when several processes ask at once (a file lock; the pair appears complete or not at
  all). It runs ``ssh-keygen`` locally (a few milliseconds): no host is contacted.
- ``SshKeyError`` when the key cannot be made (no ssh-keygen, unwritable directory).
"""

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

KEY_NAME = "id_ed25519"


class SshKeyError(Exception):
    """The panel's key could not be read or generated (the message says why)."""


def key_dir():
    return Path(settings.VMM_SSH_DIR)


def private_key_path():
    return key_dir() / KEY_NAME


def known_hosts_path():
    return key_dir() / "known_hosts"


def public_key():
    """The panel's public key as one line (``ssh-ed25519 AAAA... vmmanager@<hostname>``)."""
    pub = key_dir() / f"{KEY_NAME}.pub"
    if not pub.exists():
        _generate()
    return pub.read_text().strip()


def _generate():
    directory = key_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = open(directory / ".lock", "w")  # noqa: SIM115 - held until the pair exists
    except OSError as exc:
        raise SshKeyError(f"cannot use {directory} for the panel's SSH key: {exc}") from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (directory / f"{KEY_NAME}.pub").exists():
            return  # another process made it while we waited
        if shutil.which("ssh-keygen") is None:
            raise SshKeyError("ssh-keygen is not installed (Debian package openssh-client)")
        # Made in a scratch directory and moved into place, the public half last: a
        # reader that sees the public key always finds the private key beside it.
        with tempfile.TemporaryDirectory(dir=directory) as scratch:
            path = Path(scratch) / KEY_NAME
            comment = f"vmmanager@{socket.gethostname()}"
            proc = subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if proc.returncode != 0:
                raise SshKeyError(f"ssh-keygen failed: {(proc.stderr or proc.stdout).strip()}")
            os.replace(path, directory / KEY_NAME)
            os.replace(f"{path}.pub", directory / f"{KEY_NAME}.pub")
