"""The rescue system's initramfs for one VM: the panel's (VMM_RESCUE_INITRD) with a second
archive appended that holds root's `authorized_keys`, the VM owner's saved SSH keys, so the
owner can also reach the rescue system over SSH (docs/rescue.md). Linux unpacks concatenated
initramfs archives in order; the appended one is a gzip'd "newc" cpio, the format the kernel
reads (Documentation/driver-api/early-userspace/buffer-format.rst), written here because no
package of ours writes cpio."""

import gzip
import shutil

_DIR, _FILE = 0o040000, 0o100000


def _entry(ino, name, mode, data=b""):
    name_bytes = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 2 if mode & _DIR else 1, 0, len(data), 0, 0, 0, 0, len(name_bytes), 0)
    header = b"070701" + b"".join(b"%08X" % field for field in fields)
    head = header + name_bytes
    return head + b"\0" * (-len(head) % 4) + data + b"\0" * (-len(data) % 4)


def keys_archive(keys):
    """A gzip'd newc cpio with `root/.ssh/authorized_keys` (0600, its directories 0700)."""
    text = "".join(key.strip() + "\n" for key in keys).encode()
    archive = (
        _entry(1, "root", _DIR | 0o700)
        + _entry(2, "root/.ssh", _DIR | 0o700)
        + _entry(3, "root/.ssh/authorized_keys", _FILE | 0o600, text)
        + _entry(0, "TRAILER!!!", 0)
    )
    return gzip.compress(archive, mtime=0)


def write_initrd(base, keys, destination):
    """`base` (a path) with `keys_archive(keys)` appended, at `destination`; padded with zeros
    to a 4-byte boundary in between, as the kernel reads archives at 4-byte boundaries."""
    with open(base, "rb") as source, open(destination, "wb") as out:
        shutil.copyfileobj(source, out)
        out.write(b"\0" * (-out.tell() % 4))
        out.write(keys_archive(keys))
