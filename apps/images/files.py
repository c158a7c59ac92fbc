"""Reading image files with qemu-img (a local tool, not the hypervisor driver)."""

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass


class ImageFileError(Exception):
    """The file is not an image we can deploy from; the message says why."""


@dataclass(frozen=True)
class ImageFileInfo:
    format: str
    virtual_size_bytes: int
    file_size_bytes: int


def inspect(path):
    """Return the format and sizes of the image at `path`.

    Raises ImageFileError for a missing file, an unknown format, or a qcow2 with a
    backing file (it could point anywhere on the host)."""
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        raise ImageFileError("qemu-img is not installed (package qemu-utils).")
    proc = subprocess.run(
        [qemu_img, "info", "--output=json", "-U", str(path)], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        raise ImageFileError(proc.stderr.strip() or f"qemu-img could not read {path}")
    data = json.loads(proc.stdout)
    if data.get("format") not in ("qcow2", "raw"):
        raise ImageFileError(f"Unsupported image format {data.get('format')!r}: use qcow2 or raw.")
    if data.get("backing-filename"):
        raise ImageFileError("Images with a backing file cannot be imported: flatten it first (qemu-img convert).")
    return ImageFileInfo(
        format=data["format"],
        virtual_size_bytes=int(data["virtual-size"]),
        file_size_bytes=int(data.get("actual-size") or 0),
    )


def copy_with_checksum(source, destination, chunk=4 * 2**20):
    """Copy `source` to `destination` and return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(destination, "wb") as dst:
        while block := src.read(chunk):
            digest.update(block)
            dst.write(block)
    return digest.hexdigest()


def sha256_of(path, chunk=4 * 2**20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
