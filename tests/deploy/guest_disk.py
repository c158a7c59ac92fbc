"""A guest's file read off its disk while the VM is stopped, with no appliance and no boot:
the running guest tells (through its agent) where the file's first block lies on the disk,
and qemu-io later reads those bytes from the qcow2, following its backing chain
(tests/deploy/backup_round_trip.py, tests/deploy/snapshot_round_trip.py). Overwrite such a
file in place (`dd conv=notrunc`), never by writing a new file: a new file may get new
blocks, and the old ones keep the old bytes."""

import subprocess


def where(path):
    """A shell script printing where `path`'s data lies on the disk, in bytes: the root
    partition's start plus the file's first physical extent (filefrag, in 512-byte units)."""
    return (
        "part=$(basename $(findmnt -no SOURCE /)); start=$(cat /sys/class/block/$part/start); "
        f"phys=$(filefrag -e -b512 {path} | awk '$1 == \"0:\" {{print $4}}' | tr -d .); "
        "echo $(( (start + phys) * 512 ))"
    )


def on_disk(path, offset, length):
    """`length` bytes at `offset` of the qcow2 disk `path`, as text (qemu-io, read-only)."""
    out = subprocess.run(
        ["qemu-io", "-r", "-U", "-f", "qcow2", "-c", f"read -v {offset} {length}", path],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    data, left = [], length
    for line in out.splitlines():  # "00000000:  6f 74 68 ...  oth...": 16 bytes a line, then their text
        if line[:8].isalnum() and ": " in line and left > 0:
            taken = line.split(":", 1)[1].split()[: min(16, left)]
            data += [int(byte, 16) for byte in taken]
            left -= len(taken)
    return bytes(data).decode(errors="replace")
