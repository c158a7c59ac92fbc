"""Reading image files with qemu-img (a local tool, not the hypervisor driver), and
deciding whether a file is a disk image the panel may deploy from."""

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass

from django.utils.translation import gettext as _

# Smaller than this is no operating system's disk: a stray file qemu-img reads as raw.
MIN_VIRTUAL_SIZE = 2**20

# Where a raw disk (or a bare filesystem) says what it is: (offset, magic, what).
RAW_SIGNATURES = (
    (510, b"\x55\xaa", "MBR boot sector"),  # also the protective MBR in front of a GPT
    (512, b"EFI PART", "GPT"),
    (4096, b"EFI PART", "GPT (4 KiB sectors)"),
    (1080, b"\x53\xef", "ext2/3/4 filesystem"),
    (0, b"XFSB", "XFS filesystem"),
    (0x10040, b"_BHRfS_M", "Btrfs filesystem"),
)
_HEAD = max(offset + len(magic) for offset, magic, _what in RAW_SIGNATURES)


class ImageFileError(Exception):
    """The file is not an image we can deploy from; the message says why."""


@dataclass(frozen=True)
class ImageFileInfo:
    format: str
    virtual_size_bytes: int
    file_size_bytes: int
    kind: str  # what made us accept it: "qcow2" or the raw signature found


def _qemu_img(*args):
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        raise ImageFileError(_("qemu-img is not installed (package qemu-utils)."))
    return subprocess.run([qemu_img, *args], capture_output=True, text=True, timeout=120)


def inspect(path):
    """Return the format and sizes of the disk image at `path`, or raise ImageFileError.

    Refused: a file qemu-img cannot read; formats other than qcow2 and raw; a qcow2 with
    a backing file or an external data file (either could point anywhere on the host);
    a virtual size under 1 MiB; a qcow2 that `qemu-img check` finds corrupt (leaked
    clusters only waste space and are accepted); a raw file that starts with neither a
    partition table (MBR or GPT) nor a known filesystem, such as a text file.
    Reads only metadata and the first 64 KiB: fast enough for a web request."""
    proc = _qemu_img("info", "--output=json", "-U", str(path))
    if proc.returncode != 0:
        raise ImageFileError(proc.stderr.strip() or _("qemu-img could not read %(path)s") % {"path": path})
    data = json.loads(proc.stdout)
    fmt = data.get("format")
    if fmt not in ("qcow2", "raw"):
        raise ImageFileError(_("Unsupported image format %(format)r: use qcow2 or raw.") % {"format": fmt})
    if data.get("backing-filename"):
        raise ImageFileError(_("Images with a backing file cannot be imported: flatten it first (qemu-img convert)."))
    if (data.get("format-specific") or {}).get("data", {}).get("data-file"):
        raise ImageFileError(_("Images with an external data file cannot be imported: convert it first."))
    size = int(data["virtual-size"])
    if size < MIN_VIRTUAL_SIZE:
        raise ImageFileError(
            _("The image's disk is only %(size)d bytes: a disk image is at least 1 MiB.") % {"size": size}
        )
    kind = _check_qcow2(path) if fmt == "qcow2" else _raw_signature(path)
    return ImageFileInfo(
        format=fmt, virtual_size_bytes=size, file_size_bytes=int(data.get("actual-size") or 0), kind=kind
    )


def _check_qcow2(path):
    proc = _qemu_img("check", "--output=json", "-U", "-f", "qcow2", str(path))
    # Exit 0: clean, 3: leaked clusters only; 2: corrupt, 1: the check itself failed.
    if proc.returncode not in (0, 3):
        try:
            found = json.loads(proc.stdout)
            detail = _("%(corruptions)s corrupt clusters") % {"corruptions": found.get("corruptions", "?")}
        except ValueError:
            detail = proc.stderr.strip()
        raise ImageFileError(_("The qcow2 image is damaged (qemu-img check: %(detail)s).") % {"detail": detail})
    return "qcow2"


def _raw_signature(path):
    with open(path, "rb") as handle:
        head = handle.read(_HEAD)
    for offset, magic, what in RAW_SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return what
    raise ImageFileError(
        _("This raw file has no partition table (MBR or GPT) and no known filesystem: it is not a disk image.")
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
