"""How restic reaches an SFTP repository (docs/backups.md): the `ssh` command restic runs
(its `-o sftp.command`), and the checks of an SFTP repository's SSH input. No libvirt here.

Contract:
- `ssh_command(repository, scratch)` writes the repository's own private key and
  known_hosts (when it has them) as 0600 files into `scratch` (a private directory the
  caller removes after the restic run) and returns the command. Without its own key the
  panel's key is used (apps.hosts.sshkey, the one qemu+ssh hosts use); without
  known_hosts the host's key is recorded on first contact in the panel's known_hosts and
  a changed key is refused afterwards (as for qemu+ssh hosts). Never a prompt (BatchMode).
- `public_key_of(private_key)` checks a private key (OpenSSH or PEM, no passphrase) and
  returns its public half; `check_known_hosts(text)` checks known_hosts lines. Both run
  `ssh-keygen` locally (milliseconds) and raise ValueError with what is wrong.
"""

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from apps.hosts import sshkey

KEY_MAX = 16000


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text.strip() + "\n")
    return path


def ssh_command(repository, scratch):
    """The ssh command line restic runs to reach `repository` (a string, as restic's
    `sftp.command` takes it)."""
    scratch = Path(scratch)
    if repository.ssh_private_key:
        key = _write_private(scratch / "id", repository.ssh_private_key)
    else:
        sshkey.public_key()  # made on first need
        key = sshkey.private_key_path()
    if repository.known_hosts.strip():
        known, checking = _write_private(scratch / "known_hosts", repository.known_hosts), "yes"
    else:
        known, checking = sshkey.known_hosts_path(), "accept-new"
    argv = [
        "ssh",
        "-F", "none",
        "-i", str(key),
        "-p", str(repository.port),
        "-o", "IdentitiesOnly=yes",
        "-o", f"UserKnownHostsFile={known}",
        "-o", f"StrictHostKeyChecking={checking}",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=15",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=3",
        "-l", repository.username,
        repository.host,
        "-s", "sftp",
    ]  # fmt: skip
    return shlex.join(argv)


def why_not(command, timeout=30):
    """What ssh says when `command` (from `ssh_command`) is run with nothing to do: its last
    error lines ("Permission denied (publickey).", "Host key verification failed."), or ""."""
    try:
        proc = subprocess.run(
            shlex.split(command), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("@")]
    return " ".join(lines[-2:])


def _keygen(args, text):
    with tempfile.TemporaryDirectory() as scratch:
        path = _write_private(Path(scratch) / "file", text)
        try:
            argv = ["ssh-keygen", *args, "-f", str(path)]
            return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ValueError(f"ssh-keygen could not check it: {e}") from e


def public_key_of(private_key):
    """The one-line public half of `private_key`. ValueError if it is not a private key
    without a passphrase."""
    if len(private_key) > KEY_MAX or "PRIVATE KEY-----" not in private_key:
        raise ValueError("not a private key")
    proc = _keygen(["-y", "-P", ""], private_key)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ValueError("not a private key without a passphrase")
    return proc.stdout.strip()


def check_known_hosts(text):
    """ValueError unless every line of `text` that is not blank or a comment is a
    known_hosts line ssh-keygen reads."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(text) > KEY_MAX or not lines:
        raise ValueError("no known_hosts line")
    proc = _keygen(["-l"], "\n".join(lines))
    if proc.returncode != 0 or len(proc.stdout.strip().splitlines()) != len(lines):
        raise ValueError("not known_hosts lines")
