"""Growing a running guest's root partition and filesystem to fill its disk, through the
guest agent, judged by the result rather than by the tools' exit codes.

Contract: `grow_root(driver, domain, note, attempts=4, pause=3, measured=None)` measures
the guest (disk, root partition, filesystem: `GrowSizes`; `measured` when a script the
caller ran already printed MEASURE); if the goal is already reached (the guest may have
grown itself at boot, the plain image's first-boot unit or cloud-init) it succeeds at once;
else it runs GROW and measures again (one script), up to `attempts`
times with `pause` s between (a tool busy because the guest's own grow runs at the same
moment gets another try). Raises OperationError with the tool's last output and the sizes
when the goal is still not reached; the driver's errors otherwise.
"""

import time

from apps.jobs.runner import OperationError

# Every program started costs about a quarter of a second in an emulated guest, so the
# scripts below read what they can with the shell itself: the root's device number from
# mountinfo, its sysfs directory through /sys/dev/block, the disk's one level up.
# Sets $sys (the root partition's sysfs directory), $name (vda1), $disk (vda), $number (1).
ROOT = """
mm=""
while read -r _id _parent devno root point _rest; do
  if [ "$point" = / ] && [ "$root" = / ]; then mm=$devno; fi
done < /proc/self/mountinfo
sys=/sys/dev/block/$mm
name=""; disk=""; number=""
while IFS== read -r key value; do if [ "$key" = DEVNAME ]; then name=$value; fi; done < "$sys/uevent"
while IFS== read -r key value; do if [ "$key" = DEVNAME ]; then disk=$value; fi; done < "$sys/../uevent"
read -r number < "$sys/partition" || true
"""
# Sizes in 512-byte sectors from sysfs, the filesystem's from tune2fs. A script may run
# other commands before it: what it printed before the marker is not read.
MARKER = "--root sizes--"
MEASURE = f"""
echo '{MARKER}'{ROOT}
read -r size < "$sys/../size" && echo "disk=$size"
read -r size < "$sys/start" && echo "start=$size"
read -r size < "$sys/size" && echo "part=$size"
tune2fs -l "/dev/$name" | while IFS=: read -r key value; do
  case "$key" in
    "Block count") echo "blocks=${{value##* }}" ;;
    "Block size") echo "block_size=${{value##* }}" ;;
  esac
done
"""
# The root partition grown to the disk's end by sfdisk and the kernel told by partx (growpart
# does the same with some twenty programs more: 3.6 s against about 1 s under TCG; it
# serves where sfdisk fails or is missing); then the filesystem, online.
GROW = f"""{ROOT}
if ! {{ printf ',+\\n' | sfdisk --no-reread --no-tell-kernel -q -N "$number" "/dev/$disk" &&
        partx -u --nr "$number" "/dev/$disk"; }}; then
  growpart "/dev/$disk" "$number" || [ $? -eq 1 ]
fi
resize2fs "/dev/$name"
"""
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
        for line in output.rpartition(MARKER)[2].splitlines():
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


def measure(driver, domain, before=""):
    """The guest's sizes, after the script `before` if given (one round trip)."""
    code, output = driver.agent_exec(domain, ["/bin/sh", "-c", before + MEASURE])
    return GrowSizes.parse(output), output


def grow_root(driver, domain, note, attempts=4, pause=3.0, measured=None):
    """Grow the root partition and filesystem to fill the disk (module docstring);
    `measured`: the guest's sizes already read (by a script that ran MEASURE last)."""
    sizes = measured if measured is not None else measure(driver, domain)[0]
    if sizes.reached:
        note(f"{sizes}: already grown")
        return sizes
    output = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)  # e.g. the guest's own resize2fs still runs: "Device or resource busy"
        sizes, output = measure(driver, domain, before=GROW)
        if sizes.reached:
            note(f"{sizes}: grown")
            return sizes
    raise OperationError(f"growing the root filesystem failed ({sizes}): {output.rpartition(MARKER)[0].strip()[-300:]}")
