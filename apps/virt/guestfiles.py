"""A file or a directory out of an offline disk image, through libguestfs (guestfish), read-only.

    extract("/work/disk.raw", "/etc/hosts", "/area/12/data", max_bytes=512 * 2**20)

guestfish is driven command by command over its standard input (one appliance launch for
the whole conversation): each command is followed by an `echo` of a marker, and its output
(errors included: standard error goes to the same pipe) is read up to the marker. The disk
is mounted the way virt tools do it (libguestfs's inspection: the operating system's root
and its other filesystems by their mount points), or, with no operating system found, its
only filesystem at `/`. The path is first resolved inside the guest's filesystems (its
symbolic links followed there, never in the appliance). A regular file is copied as it is; a
directory is packed as a gzip'd tar of its contents (entries `./...`, owners kept as numbers,
symbolic links inside it kept as links). A special file, a missing path, or a file or
directory larger than `max_bytes` (a directory: its size on disk, then the archive's) is refused with
`FileRefused` saying why. Other failures raise `OperationFailed` with guestfish's words."""

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
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


class FileRefused(OperationFailed):
    """The path is not a file or directory the panel may hand out (missing, a special file, too
    large); the message says which."""


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


SHOWN_NEARBY = 30  # names of the nearest existing directory said when a path is missing


def _resolve(fish: _Fish, path: str) -> str:
    """`path` with its symbolic links followed inside the guest's filesystems."""
    lines, errors = fish.ask(f"realpath {quote(path)}")
    if errors or len(lines) != 1:
        reason = _reason(errors)
        if not errors or "No such file or directory" in reason or "Not a directory" in reason:
            raise FileRefused(f"{path}: no such file or directory in the backup{_nearby(fish, path)}")
        raise FileRefused(f"{path}: cannot be read ({reason})")
    return lines[0]


def _nearby(fish: _Fish, path: str) -> str:
    """What the nearest directory above a missing `path` holds (a typo is then seen at
    once), as "; /etc holds: app, hostname, ... (12 more)", or "" if it cannot be listed."""
    parent = os.path.dirname(path)
    while True:
        lines, errors = fish.ask(f"realpath {quote(parent)}")
        if not errors and len(lines) == 1:
            break
        if parent == "/":
            return ""
        parent = os.path.dirname(parent)
    names, errors = fish.ask(f"ls {quote(lines[0])}")
    if errors:
        return ""
    names = sorted(name for name in names if name)
    more = f" ({len(names) - SHOWN_NEARBY} more)" if len(names) > SHOWN_NEARBY else ""
    return f"; {parent} holds: {', '.join(names[:SHOWN_NEARBY]) or 'nothing'}{more}"


def _stat(fish: _Fish, path: str) -> dict[str, int]:
    lines, errors = fish.ask(f"lstatns {quote(path)}")
    if errors:
        raise FileRefused(f"{path}: cannot be read ({_reason(errors)})")
    fields = dict(line.split(": ", 1) for line in lines if ": " in line)
    return {key: int(value) for key, value in fields.items() if value.lstrip("-").isdigit()}


def _too_large(path: str, what: str, size: int, max_bytes: int) -> FileRefused:
    return FileRefused(
        f"{path} is {size / 2**20:.1f} MiB{what}, more than the {max_bytes / 2**20:.0f} MiB a file or directory "
        "taken out of a backup may have (VMM_BACKUP_FILE_MAX_MB)"
    )


def _copy_file(fish: _Fish, path: str, info: dict[str, int], destination: str | Path, max_bytes: int) -> int:
    size = info.get("st_size", 0)
    if size > max_bytes:
        raise _too_large(path, "", size, max_bytes)
    _out, errors = fish.ask(f"download {quote(path)} {quote(str(destination))}")
    if errors:
        raise OperationFailed(f"{path} could not be copied: {_reason(errors)}")
    got = os.path.getsize(destination)
    if got != size:
        raise OperationFailed(f"{path}: {got} bytes copied, not its {size}")
    return size


def _pack_directory(fish: _Fish, path: str, destination: str | Path, max_bytes: int) -> int:
    lines, errors = fish.ask(f"du {quote(path)}")
    if errors or len(lines) != 1 or not lines[0].isdigit():
        raise OperationFailed(f"{path}: its size could not be read: {_reason(errors) or lines}")
    if int(lines[0]) * 1024 > max_bytes:
        raise _too_large(path, " on disk", int(lines[0]) * 1024, max_bytes)
    _out, errors = fish.ask(f"tar-out {quote(path)} {quote(str(destination))} compress:gzip numericowner:true")
    if errors:
        raise OperationFailed(f"{path} could not be packed: {_reason(errors)}")
    size = os.path.getsize(destination)
    if size > max_bytes:  # sparse files: small on disk, their full length in the archive
        raise _too_large(path, " packed", size, max_bytes)
    return size


def extract(image: str | Path, path: str, destination: str | Path, *, max_bytes: int, timeout: float = 3600) -> dict:
    """Copy the regular file or pack the directory `path` (absolute) of the raw disk image
    `image`, opened read-only, to the local `destination`. Returns {"kind": "file" or
    "directory", "path": `path` resolved in the guest, "size": bytes written, "mounted": how}.
    Raises FileRefused (missing, a special file, larger than `max_bytes`, no filesystem to
    mount) or OperationFailed."""
    if not path.startswith("/"):
        raise ValueError("an absolute path")
    started = time.monotonic()
    fish = _Fish(image, started + timeout)
    try:
        mounted = _mount(fish)
        resolved = _resolve(fish, path)
        info = _stat(fish, resolved)
        kind = stat.S_IFMT(info.get("st_mode", 0))
        if kind == stat.S_IFREG:
            size = _copy_file(fish, resolved, info, destination, max_bytes)
        elif kind == stat.S_IFDIR:
            size = _pack_directory(fish, resolved, destination, max_bytes)
        else:
            raise FileRefused(f"{path} is {KINDS.get(kind, 'not a regular file')}, not a file or directory")
    finally:
        fish.close()
    log.debug("took %s (%d bytes) out of %s in %.1fs", path, size, image, time.monotonic() - started)
    return {"kind": "file" if kind == stat.S_IFREG else "directory", "path": resolved, "size": size, "mounted": mounted}
