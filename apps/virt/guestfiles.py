"""One file out of an offline disk image, through libguestfs (guestfish), read-only.

    extract_file("/work/disk.raw", "/etc/hosts", "/area/12/hosts", max_bytes=512 * 2**20)

guestfish is driven command by command over its standard input (one appliance launch for
the whole conversation): each command is followed by an `echo` of a marker, and its output
(errors included: standard error goes to the same pipe) is read up to the marker. The disk
is mounted the way virt tools do it (libguestfs's inspection: the operating system's root
and its other filesystems by their mount points), or, with no operating system found, its
only filesystem at `/`. Only a regular file is taken (a symbolic link is followed inside
the guest's filesystems); a directory, a special file, a missing path or a file larger than
`max_bytes` is refused with `FileRefused` saying why. Other failures raise
`OperationFailed` with guestfish's words."""

from __future__ import annotations

import logging
import os
import secrets
import select
import stat
import subprocess
import time
from pathlib import Path

from .appliance import guestfs_env
from .errors import OperationFailed
from .tools import _die_with_parent

log = logging.getLogger("vmmanager.virt")

NOT_FILESYSTEMS = {"swap", "unknown", ""}
KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class FileRefused(OperationFailed):
    """The path is not a regular file the panel may hand out (missing, a directory, a
    special file, too large); the message says which."""


def quote(text: str) -> str:
    """`text` as one guestfish argument (double quotes; backslash and quote escaped)."""
    if any(ord(c) < 32 or c == "\x7f" for c in text):
        raise ValueError("control characters cannot be passed to guestfish")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Fish:
    """A guestfish process holding one read-only disk, asked one command at a time."""

    def __init__(self, image: str | Path, deadline: float):
        self.deadline = deadline
        self.marker = f"__vmm_{secrets.token_hex(8)}__"
        self.buffer = b""
        self.proc = subprocess.Popen(
            ["guestfish", "--ro", "--format=raw", "-a", str(image)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **guestfs_env()},
            preexec_fn=_die_with_parent,
        )

    def ask(self, command: str) -> tuple[list[str], list[str]]:
        """Run `command` (its errors do not end guestfish: the leading dash); returns (the
        lines it printed, its error lines)."""
        try:
            self.proc.stdin.write(f"-{command}\necho {self.marker}\n".encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise OperationFailed("guestfish ended early") from None
        lines = []
        while True:
            line = self._line()
            if line == self.marker:
                break
            lines.append(line)
        errors = [line for line in lines if "libguestfs: error:" in line]
        return [line for line in lines if line not in errors], errors

    def _line(self) -> str:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise OperationFailed("taking the file out of the disk took too long and was stopped")
            ready, _w, _x = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                tail = self.buffer.decode(errors="replace").strip()
                raise OperationFailed(f"guestfish ended early{': ' + tail if tail else ''}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def close(self) -> None:
        """Let guestfish shut its appliance down; killed if it does not end in 30 s."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _reason(errors: list[str]) -> str:
    """guestfish's error without its `*stdin*:N: libguestfs: error: ` prefix."""
    return "; ".join(line.split("libguestfs: error:", 1)[-1].strip() for line in errors)


def _mount(fish: _Fish) -> str:
    """Mount the disk's filesystems read-only; returns how (for the job's step)."""
    _out, errors = fish.ask("run")
    if errors:
        raise OperationFailed(f"libguestfs could not open the disk: {_reason(errors)}")
    roots, errors = fish.ask("inspect-os")
    if errors:
        raise OperationFailed(f"libguestfs could not inspect the disk: {_reason(errors)}")
    if len(roots) > 1:
        raise FileRefused(f"the disk holds {len(roots)} operating systems ({', '.join(roots)}): cannot tell which")
    if roots:
        root = roots[0]
        lines, errors = fish.ask(f"inspect-get-mountpoints {quote(root)}")
        mounts = sorted((line.split(": ", 1) for line in lines if ": " in line), key=lambda m: len(m[0]))
        for mountpoint, device in mounts:
            _out, errors = fish.ask(f"mount-ro {quote(device)} {quote(mountpoint)}")
            if errors and mountpoint == "/":
                raise OperationFailed(f"cannot mount the root filesystem {device}: {_reason(errors)}")
            if errors:
                log.info("could not mount %s on %s: %s", device, mountpoint, _reason(errors))
        product, _errors = fish.ask(f"inspect-get-product-name {quote(root)}")
        return f"{' '.join(product) or 'an operating system'} on {root}"
    lines, errors = fish.ask("list-filesystems")
    filesystems = [line.split(": ", 1) for line in lines if ": " in line]
    usable = [device for device, kind in filesystems if kind not in NOT_FILESYSTEMS]
    if len(usable) != 1:
        raise FileRefused(
            f"no operating system found on the disk and {len(usable)} filesystems on it: cannot tell which is the root"
        )
    _out, errors = fish.ask(f"mount-ro {quote(usable[0])} /")
    if errors:
        raise OperationFailed(f"cannot mount {usable[0]}: {_reason(errors)}")
    return f"the disk's only filesystem {usable[0]} (no operating system found)"


def _stat(fish: _Fish, path: str) -> dict[str, int]:
    lines, errors = fish.ask(f"statns {quote(path)}")
    if errors:
        reason = _reason(errors)
        if "No such file or directory" in reason or "Not a directory" in reason:
            raise FileRefused(f"{path}: no such file in the backup")
        raise FileRefused(f"{path}: cannot be read ({reason})")
    fields = dict(line.split(": ", 1) for line in lines if ": " in line)
    return {key: int(value) for key, value in fields.items() if value.lstrip("-").isdigit()}


def extract_file(
    image: str | Path, path: str, destination: str | Path, *, max_bytes: int, timeout: float = 3600
) -> dict:
    """Copy the regular file `path` (absolute) of the raw disk image `image`, opened
    read-only, to the local `destination`. Returns {"size": bytes, "mounted": how}. Raises
    FileRefused (missing, not a regular file, larger than `max_bytes`, no filesystem to
    mount) or OperationFailed."""
    if not path.startswith("/"):
        raise ValueError("an absolute path")
    started = time.monotonic()
    fish = _Fish(image, started + timeout)
    try:
        mounted = _mount(fish)
        info = _stat(fish, path)
        kind = stat.S_IFMT(info.get("st_mode", 0))
        if kind != stat.S_IFREG:
            raise FileRefused(f"{path} is {KINDS.get(kind, 'not a regular file')}, not a regular file")
        size = info.get("st_size", 0)
        if size > max_bytes:
            raise FileRefused(
                f"{path} is {size / 2**20:.1f} MiB, more than the {max_bytes / 2**20:.0f} MiB a file taken out "
                "of a backup may have (VMM_BACKUP_FILE_MAX_MB)"
            )
        _out, errors = fish.ask(f"download {quote(path)} {quote(str(destination))}")
        if errors:
            raise OperationFailed(f"{path} could not be copied: {_reason(errors)}")
    finally:
        fish.close()
    got = os.path.getsize(destination)
    if got != size:
        raise OperationFailed(f"{path}: {got} bytes copied, not its {size}")
    log.debug("took %s (%d bytes) out of %s in %.1fs", path, size, image, time.monotonic() - started)
    return {"size": size, "mounted": mounted}
