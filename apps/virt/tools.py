"""Local disk tools the workers run next to libvirt: qemu-img, libguestfs (virt-customize,
virt-sysprep, virt-cat) and cloud-localds. Each raises ``OperationFailed`` with the tool's
own last lines of error output, never a bare CalledProcessError."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .appliance import guestfs_env
from .errors import OperationFailed

log = logging.getLogger("vmmanager.virt")


def _die_with_parent() -> None:
    # If the worker running this tool is killed, the tool (and libguestfs's appliance under
    # it) must not go on writing files nobody will clean up.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _run(argv: list[str], *, timeout: float, what: str, env: dict | None = None, input: str | None = None) -> str:
    if shutil.which(argv[0]) is None:
        raise OperationFailed(f"{argv[0]} is not installed on the panel's machine")
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            input=input,
            preexec_fn=_die_with_parent,
        )
    except subprocess.TimeoutExpired as e:
        raise OperationFailed(f"{what} took longer than {timeout:.0f} s and was stopped") from e
    log.debug("%s: %s exited %s in %.2fs", what, argv[0], proc.returncode, time.monotonic() - started)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise OperationFailed(f"{what} failed: {tail or f'exit status {proc.returncode}'}")
    return proc.stdout


def image_info(path: str | Path) -> dict:
    """qemu-img's JSON description of the image at ``path``."""
    return json.loads(_run(["qemu-img", "info", "--output=json", "-U", str(path)], timeout=60, what="qemu-img info"))


def create_overlay(path: str | Path, backing: str | Path, backing_format: str, size_bytes: int) -> None:
    """A qcow2 at ``path`` whose unwritten blocks read from ``backing`` (a linked clone),
    ``size_bytes`` large (not smaller than the backing image)."""
    _run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            str(backing),
            "-F",
            backing_format,
            str(path),
            str(size_bytes),
        ],
        timeout=60,
        what="creating the disk",
    )


def rebase_unsafe(path: str | Path, backing: str, backing_format: str) -> None:
    """Point the overlay at ``backing`` without reading anything: only right when the new
    backing file has exactly the same content as the old (a verified copy of it)."""
    _run(
        ["qemu-img", "rebase", "-u", "-f", "qcow2", "-b", backing, "-F", backing_format, str(path)],
        timeout=60,
        what="re-pointing the disk at the host's image copy",
    )


def flatten(source: str | Path, destination: str | Path, compress: bool = False) -> None:
    """A standalone qcow2 copy of ``source`` with its backing chain merged in
    (zstd-compressed with ``compress``: smaller to store and to copy to hosts)."""
    options = ["-c", "-o", "compression_type=zstd"] if compress else []
    _run(
        ["qemu-img", "convert", "-U", "-O", "qcow2", *options, str(source), str(destination)],
        timeout=3600,
        what="copying the disk",
    )


def convert(source: str | Path, destination: str | Path, source_format: str, format: str) -> None:
    """``source`` (of ``source_format``) written to ``destination`` in ``format`` (``raw``
    comes out sparse: unused space takes no room)."""
    _run(
        ["qemu-img", "convert", "-f", source_format, "-O", format, str(source), str(destination)],
        timeout=6 * 3600,
        what=f"converting the disk to {format}",
    )


def written_extents(path: str | Path) -> list[tuple[int, int]]:
    """The byte ranges ``[(start, length)]`` of the standalone qcow2 at ``path`` that were
    written (data, or clusters written as zeros), merged and sorted: what an incremental
    backup copied; the rest of it was not copied."""
    out = _run(["qemu-img", "map", "--output=json", "-f", "qcow2", str(path)], timeout=600, what="qemu-img map")
    extents: list[tuple[int, int]] = []
    for entry in json.loads(out):
        present = entry.get("present", entry.get("data") or not entry.get("zero"))
        if not present or not entry["length"]:
            continue
        start, length = entry["start"], entry["length"]
        if extents and extents[-1][0] + extents[-1][1] == start:
            extents[-1] = (extents[-1][0], extents[-1][1] + length)
        else:
            extents.append((start, length))
    return extents


def virt_customize(disk: str | Path, args: list[str], timeout: float = 900) -> str:
    """Run virt-customize on the offline ``disk`` with ``args``; returns its output."""
    return _run(
        ["virt-customize", "--no-network", "-a", str(disk), *args],
        timeout=timeout,
        what="configuring the guest (virt-customize)",
        env=guestfs_env(),
    )


def virt_sysprep(disk: str | Path, timeout: float = 900) -> str:
    """Seal ``disk`` as a template: machine id, SSH host keys, logs, root's SSH keys gone."""
    return _run(
        ["virt-sysprep", "-a", str(disk), "--operations", "defaults", "--truncate", "/etc/machine-id"],
        timeout=timeout,
        what="sealing the image (virt-sysprep)",
        env=guestfs_env(),
    )


def virt_cat(disk: str | Path, path: str, timeout: float = 300) -> str:
    """The content of ``path`` inside the offline ``disk``."""
    return _run(["virt-cat", "-a", str(disk), path], timeout=timeout, what=f"reading {path}", env=guestfs_env())


def make_seed_iso(destination: str | Path, user_data: str, meta_data: str, network_config: str | None) -> None:
    """A cloud-init NoCloud seed (ISO 9660 labelled cidata) at ``destination``."""
    work = Path(destination).with_suffix(".d")
    work.mkdir(parents=True, exist_ok=True)
    (work / "user-data").write_text(user_data)
    (work / "meta-data").write_text(meta_data)
    argv = ["cloud-localds", str(destination), str(work / "user-data"), str(work / "meta-data")]
    if network_config:
        (work / "network-config").write_text(network_config)
        argv[1:1] = ["--network-config", str(work / "network-config")]
    try:
        _run(argv, timeout=60, what="writing the cloud-init seed")
    finally:
        shutil.rmtree(work, ignore_errors=True)
