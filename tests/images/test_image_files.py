"""Which files the panel accepts as disk images (apps.images.files.inspect): real disks
and filesystems yes; text, tiny files, damaged qcow2 and qcow2 pointing at other files no."""

import struct
import subprocess

import pytest

from apps.images import files


def raw(tmp_path, name, size=4 * 2**20):
    path = tmp_path / name
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def test_a_text_file_is_not_a_disk_image_even_when_it_is_large_enough(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("these are my notes\n" * 100_000)  # 1.9 MB: qemu-img calls it raw

    with pytest.raises(files.ImageFileError, match="no partition table"):
        files.inspect(text)


def test_a_file_under_one_mebibyte_is_refused(tmp_path):
    tiny = tmp_path / "tiny.img"
    tiny.write_bytes(b"\0" * 510 + b"\x55\xaa")  # a boot signature, but 512 bytes is no disk

    with pytest.raises(files.ImageFileError, match="at least 1 MiB"):
        files.inspect(tiny)


def test_a_raw_disk_with_a_partition_table_is_accepted(tmp_path):
    for label in ("dos", "gpt"):
        disk = raw(tmp_path, f"{label}.img")
        subprocess.run(["sfdisk", "-q", str(disk)], input=f"label: {label}\n,,L\n", text=True, check=True)

        info = files.inspect(disk)

        assert (info.format, info.virtual_size_bytes) == ("raw", 4 * 2**20)
        assert info.kind == "MBR boot sector"  # a GPT disk starts with its protective MBR


def test_a_bare_ext4_filesystem_is_accepted(tmp_path):
    disk = raw(tmp_path, "root.ext4")
    subprocess.run(["mkfs.ext4", "-q", "-F", str(disk)], check=True)

    assert files.inspect(disk).kind == "ext2/3/4 filesystem"


def test_a_damaged_qcow2_is_refused_by_qemu_img_check(tmp_path, qcow2_file):
    subprocess.run(["qemu-io", "-c", "write -P 0xab 0 1M", str(qcow2_file)], check=True, capture_output=True)
    assert files.inspect(qcow2_file).kind == "qcow2"
    with open(qcow2_file, "r+b") as handle:  # zero the first refcount block: every cluster "unused"
        handle.seek(48)
        table = struct.unpack(">Q", handle.read(8))[0]
        handle.seek(table)
        block = struct.unpack(">Q", handle.read(8))[0]
        handle.seek(block)
        handle.write(b"\0" * 65536)

    with pytest.raises(files.ImageFileError, match="damaged"):
        files.inspect(qcow2_file)


def test_a_qcow2_with_an_external_data_file_is_refused(tmp_path):
    image = tmp_path / "split.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-o", f"data_file={tmp_path / 'data.raw'}", str(image), "8M"],
        check=True,
    )
    with pytest.raises(files.ImageFileError, match="external data file"):
        files.inspect(image)
