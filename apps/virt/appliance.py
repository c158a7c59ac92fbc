"""The environment libguestfs tools run in (virt-customize, virt-sysprep, virt-cat).

libguestfs boots a small appliance VM for every call. Where KVM is advertised but unusable it
must use TCG (docs/hypervisor.md), and under TCG the first 10 s of every launch went into the
kernel decompressing itself: Debian's kernels are xz-compressed bzImages. QEMU boots an
uncompressed kernel directly through its PVH entry point, so the first tool call unpacks the
newest installed kernel once into a machine-wide cache and points supermin at it, with the
appliance libguestfs builds from it kept beside it. A kernel that cannot be unpacked or has
no PVH entry point leaves libguestfs on its defaults: slower, never broken."""

from __future__ import annotations

import logging
import lzma
import os
import re
import struct
from pathlib import Path

log = logging.getLogger("vmmanager.virt")

BASE_ENV = {"LIBGUESTFS_BACKEND": "direct", "LIBGUESTFS_BACKEND_SETTINGS": "force_tcg"}

XZ_MAGIC = b"\xfd7zXZ\x00"
PT_NOTE = 4
XEN_ELFNOTE_PHYS32_ENTRY = 18


# Machine-wide, beside libguestfs's own /var/tmp/.guestfs-UID: kept across runs and workers.
CACHE_DIR = Path(f"/var/tmp/vmmanager-appliance-{os.getuid()}")


def _version_key(version: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", version)]


def newest_kernel(boot: Path = Path("/boot"), modules: Path = Path("/lib/modules")) -> tuple[str, Path] | None:
    """(version, bzImage) of the newest kernel whose modules are installed, as supermin picks."""
    found = [
        (path.name.removeprefix("vmlinuz-"), path)
        for path in boot.glob("vmlinuz-*")
        if (modules / path.name.removeprefix("vmlinuz-")).is_dir()
    ]
    return max(found, key=lambda item: _version_key(item[0])) if found else None


def has_pvh_entry(elf: bytes) -> bool:
    """True if ``elf`` is a 64-bit little-endian ELF with Xen's PVH entry note, the one QEMU's
    direct boot of an uncompressed kernel needs."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        return False
    (phoff,) = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for index in range(phnum):
        p_type, _flags, offset, _vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + index * phentsize)
        if p_type != PT_NOTE:
            continue
        position, end = offset, offset + filesz
        while position + 12 <= end:
            namesz, descsz, note_type = struct.unpack_from("<III", elf, position)
            name = elf[position + 12 : position + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and note_type == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            position += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def unpack_bzimage(bzimage: bytes) -> bytes | None:
    """The uncompressed kernel inside an xz-compressed bzImage, or None."""
    start = bzimage.find(XZ_MAGIC)
    while start != -1:
        try:
            # The payload is followed by the decompressor's own data: stop at the stream's end.
            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(bzimage[start:])
        except lzma.LZMAError:
            start = bzimage.find(XZ_MAGIC, start + 1)
    return None


def pvh_kernel(directory: Path = CACHE_DIR, boot: Path = Path("/boot")) -> tuple[str, Path] | None:
    """(version, path) of the unpacked PVH kernel in the cache, unpacking it on first use."""
    newest = newest_kernel(boot)
    if newest is None:
        return None
    version, bzimage = newest
    target = directory / f"vmlinux-{version}"
    refused = directory / f"vmlinux-{version}.unusable"
    if target.exists():
        return version, target
    if refused.exists():
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        kernel = unpack_bzimage(bzimage.read_bytes())
        if kernel is None or not has_pvh_entry(kernel):
            refused.touch()
            log.info("kernel %s cannot be booted directly; libguestfs keeps its default kernel", version)
            return None
        partial = directory / f".vmlinux-{version}.{os.getpid()}"
        partial.write_bytes(kernel)
        os.replace(partial, target)  # two workers unpacking at once both end with one whole file
    except OSError as error:
        log.warning("cannot unpack kernel %s for libguestfs: %s", version, error)
        return None
    log.info("unpacked kernel %s for libguestfs's appliance at %s", version, target)
    return version, target


def guestfs_env(directory: Path = CACHE_DIR, boot: Path = Path("/boot")) -> dict[str, str]:
    """Environment for a libguestfs tool: TCG, and the unpacked kernel where there is one."""
    found = pvh_kernel(directory, boot)
    if found is None:
        return dict(BASE_ENV)
    version, path = found
    return {
        **BASE_ENV,
        "SUPERMIN_KERNEL": str(path),
        "SUPERMIN_KERNEL_VERSION": version,
        "SUPERMIN_MODULES": f"/lib/modules/{version}",
        # Its own appliance cache: the default one may hold an appliance of the compressed
        # kernel, which supermin would not rebuild for a change of kernel.
        "LIBGUESTFS_CACHEDIR": str(path.parent),
    }
