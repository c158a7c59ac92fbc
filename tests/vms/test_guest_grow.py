"""Growing the root filesystem is judged by the sizes the guest reports, not by the tools'
exit codes: a guest that grew itself at boot (growpart says NOCHANGE) has reached the goal;
a partition grown but a filesystem not yet (resize2fs was busy) has not."""

import pytest

from apps.jobs.runner import OperationError
from apps.vms.guest_grow import GrowSizes

GIB_SECTORS = 2**30 // 512


def measured(disk_gib, part_sectors, fs_blocks, start=2048):
    """What MEASURE prints inside a guest (sysfs sectors, tune2fs blocks of 4 KiB)."""
    return f"disk={disk_gib * GIB_SECTORS}\nstart={start}\npart={part_sectors}\nblocks={fs_blocks}\nblock_size=4096\n"


def test_a_guest_that_grew_itself_at_boot_has_reached_the_goal():
    # The guest: 6 GiB disk, partition 1 of 12580831 sectors, filesystem grown too.
    sizes = GrowSizes.parse(measured(6, 12580831, 12580831 * 512 // 4096))

    assert sizes.partition_full and sizes.filesystem_full and sizes.reached
    assert str(sizes) == "disk 6.0 GiB, root partition 6.0 GiB, filesystem 6.0 GiB"


def test_a_partition_grown_with_its_filesystem_still_small_has_not():
    sizes = GrowSizes.parse(measured(6, 12580831, 4 * 2**30 // 4096))

    assert sizes.partition_full and not sizes.filesystem_full and not sizes.reached


def test_a_partition_that_does_not_fill_the_disk_has_not():
    four_gib = 4 * GIB_SECTORS - 2048
    sizes = GrowSizes.parse(measured(6, four_gib, four_gib * 512 // 4096))

    assert not sizes.partition_full and not sizes.reached


def test_a_guest_that_could_not_be_measured_fails_with_what_it_printed():
    with pytest.raises(OperationError, match="(?s)block_size, blocks.*tune2fs: not found"):
        GrowSizes.parse("disk=12582912\nstart=2048\npart=12580831\nsh: tune2fs: not found")
