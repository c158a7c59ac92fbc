"""A throw-away OpenSSH server for the SFTP repositories' tests (Debian's openssh-server,
scripts/test-packages.sh): its own config, host key and authorized keys in a temporary
directory, listening on a free port of 127.0.0.1, started without systemd and stopped at
the end. It logs in the user the tests run as, with the keys given. `UsePAM yes`: without
PAM, sshd refuses every login, keys included, to an account whose password is locked ("!"
in /etc/shadow, as root's is on some of our machines); PAM's account check does not."""

import getpass
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


@dataclass
class Sshd:
    port: int
    user: str
    directory: Path
    host_key_line: str  # the known_hosts line of its host key

    def authorize(self, public_key):
        with open(self.directory / "authorized_keys", "a") as f:
            f.write(public_key.strip() + "\n")


def keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)], check=True)
    return Path(path).read_text(), Path(f"{path}.pub").read_text().strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(directory):
    """Start sshd in `directory`; returns (Sshd, process)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _, host_public = keygen(directory / "host_key")
    (directory / "authorized_keys").write_text("")
    port = free_port()
    (directory / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {directory}/host_key\nPidFile none\n"
        f"AuthorizedKeysFile {directory}/authorized_keys\nStrictModes no\nUsePAM yes\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\nLogLevel ERROR\n"
    )
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # its privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(directory / "sshd_config")], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"sshd did not start: {proc.stderr.read().decode()}") from None
            time.sleep(0.05)
    key_type, key = host_public.split()[:2]
    return Sshd(port, getpass.getuser(), directory, f"[127.0.0.1]:{port} {key_type} {key}"), proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
