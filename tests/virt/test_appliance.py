"""libguestfs's appliance boots the host's kernel unpacked (PVH), where it can; else its
defaults (apps/virt/appliance.py). The real deploy tests run virt-customize through it."""

import lzma
import shutil

import pytest

from apps.virt import appliance

INSTALLED = appliance.newest_kernel()


def test_the_installed_kernel_is_unpacked_once_and_given_to_supermin(tmp_path):
    assert INSTALLED is not None, "libguestfs needs a kernel with its modules (make host installs one)"
    env = appliance.guestfs_env(tmp_path)

    version, _ = INSTALLED
    kernel = tmp_path / f"vmlinux-{version}"
    assert env["SUPERMIN_KERNEL"] == str(kernel)
    assert env["SUPERMIN_MODULES"] == f"/lib/modules/{version}"
    assert env["LIBGUESTFS_BACKEND_SETTINGS"] == "force_tcg"
    assert appliance.has_pvh_entry(kernel.read_bytes())
    unpacked_at = kernel.stat().st_mtime_ns
    assert appliance.guestfs_env(tmp_path) == env
    assert kernel.stat().st_mtime_ns == unpacked_at


def test_an_elf_without_the_pvh_note_is_not_booted_directly():
    with open(shutil.which("true"), "rb") as program:
        assert not appliance.has_pvh_entry(program.read())
    assert not appliance.has_pvh_entry(b"not an elf at all")


@pytest.mark.parametrize(
    "content",
    [b"MZ no compressed payload here", b"MZ" + lzma.compress(b"\x7fELF but not a kernel", format=lzma.FORMAT_XZ)],
    ids=["no payload", "payload without pvh entry"],
)
def test_a_kernel_that_cannot_be_booted_directly_leaves_libguestfs_on_its_defaults(tmp_path, content):
    version, _ = INSTALLED  # the fake kernel borrows its modules directory
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / f"vmlinuz-{version}").write_bytes(content)

    env = appliance.guestfs_env(tmp_path / "cache", boot)

    assert env == appliance.BASE_ENV
    assert not (tmp_path / "cache" / f"vmlinux-{version}").exists()
    # and it is not tried again at every call
    assert appliance.guestfs_env(tmp_path / "cache", boot) == appliance.BASE_ENV
