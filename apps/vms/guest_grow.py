"""Growing a running guest's root partition and filesystem to fill its disk, through the
guest agent, judged by the result rather than by the tools' exit codes.

Contract: `grow_root(driver, domain, note, attempts=4, pause=3)` measures the guest (disk,
root partition, filesystem: `GrowSizes`); if the goal is already reached (the guest may
have grown itself at boot, the plain image's first-boot unit or cloud-init) it succeeds
at once; else it runs `guest_config.GROW_ROOT` and measures again, up to `attempts`
times with `pause` s between (a tool busy because the guest's own grow runs at the same
moment gets another try). Raises OperationError with the tool's last output and the sizes
when the goal is still not reached; the driver's errors otherwise.
"""

import time

from apps.jobs.runner import OperationError
from apps.vms.guest_config import GROW_ROOT

# Sizes in 512-byte sectors from sysfs, the filesystem's from tune2fs.
MEASURE = (
    'dev=$(findmnt -n -o SOURCE /); name=${dev#/dev/}; disk=$(lsblk -no pkname "$dev"); '
    'echo "disk=$(cat /sys/class/block/$disk/size)"; '
    'echo "start=$(cat /sys/class/block/$name/start)"; '
    'echo "part=$(cat /sys/class/block/$name/size)"; '
    'tune2fs -l "$dev" | sed -n '
    "'s/^Block count: *\\([0-9]*\\)$/blocks=\\1/p; s/^Block size: *\\([0-9]*\\)$/block_size=\\1/p'"
)
# Disks grow in whole GiB: anything this close to the end is as grown as it can be
# (partition alignment, the GPT backup header, ext4's last block group).
SLACK = 64 * 2**20


class GrowSizes:
    """What MEASURE printed: the disk, the root partition (start, size) and its filesystem, in bytes."""

    def __init__(self, disk, part_start, part, filesystem):
        self.disk, self.part_start, self.part, self.filesystem = disk, part_start, part, filesystem

    @classmethod
    def parse(cls, output):
        """From MEASURE's output; raises OperationError if a figure is missing."""
        values = {}
        for line in output.splitlines():
            key, _, value = line.strip().partition("=")
            if value.isdigit():
                values[key] = int(value)
        missing = {"disk", "start", "part", "blocks", "block_size"} - set(values)
        if missing:
            raise OperationError(
                f"could not measure the root filesystem ({', '.join(sorted(missing))}): {output[-300:]}"
            )
        return cls(
            disk=values["disk"] * 512,
            part_start=values["start"] * 512,
            part=values["part"] * 512,
            filesystem=values["blocks"] * values["block_size"],
        )

    @property
    def partition_full(self):
        return self.disk - (self.part_start + self.part) < SLACK

    @property
    def filesystem_full(self):
        return self.part - self.filesystem < SLACK

    @property
    def reached(self):
        return self.partition_full and self.filesystem_full

    def __str__(self):
        gib = 2**30
        return (
            f"disk {self.disk / gib:.1f} GiB, root partition {self.part / gib:.1f} GiB, "
            f"filesystem {self.filesystem / gib:.1f} GiB"
        )


def measure(driver, domain):
    code, output = driver.agent_exec(domain, ["/bin/sh", "-c", MEASURE])
    return GrowSizes.parse(output)


def grow_root(driver, domain, note, attempts=4, pause=3.0):
    """Grow the root partition and filesystem to fill the disk (module docstring)."""
    last = ""
    for attempt in range(attempts):
        sizes = measure(driver, domain)
        if sizes.reached:
            note(f"{sizes}: {'already grown' if attempt == 0 else 'grown'}")
            return sizes
        code, output = driver.agent_exec(domain, ["/bin/sh", "-c", GROW_ROOT])
        if code != 0:
            last = output.strip()
            time.sleep(pause)  # e.g. the guest's own resize2fs still runs: "Device or resource busy"
    sizes = measure(driver, domain)
    if sizes.reached:
        note(f"{sizes}: grown")
        return sizes
    raise OperationError(f"growing the root filesystem failed ({sizes}): {last[-300:]}")
