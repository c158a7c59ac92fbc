"""Rescue mode end to end on the real local libvirtd (marker `libvirt`; docs/rescue.md): a
customer's VM whose disk no longer boots (an ext4 filesystem and no boot loader: the BIOS finds
nothing and waits, which also makes it ignore the ACPI stop) is booted into the rescue system
the panel's script builds; through the VM's serial console, as its owner would type, the disk
is mounted, its data read, a repair written and the disk unmounted, and the rescue system has
the address DHCP gives the VM on its network, where the owner's saved SSH key logs in as root;
leaving rescue mode shuts the rescue system down
cleanly (ACPI, not forced) and boots the VM's own disk again, with the repair on it and the
rescue files gone from the host."""

import re
import subprocess
import threading
import time

import pytest

from apps.accounts.sshkeys import SshKey
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.virt.domain_xml import parse_domain_xml
from apps.vms import rescue
from apps.vms.cleanup import remove_from_host
from apps.vms.deploy.steps import domain_spec
from apps.vms.models import VirtualMachine, VmStatus
from apps.vms.rescue_work import rescue_volumes
from tests.built import kernel_and_initrd

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

DATA = "the customer's data, still there"
PROMPT = re.compile(rb"rescue:[^\r\n#]*# ")


@pytest.fixture(scope="module")
def rescue_system():
    """``(kernel, initrd)`` of scripts/rescue-system.sh, built once."""
    return kernel_and_initrd("rescue-system.sh")


@pytest.fixture
def saved_key(customer, tmp_path):
    """A key pair of the customer's, its public half saved in the panel (as on the keys page)."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "key")], check=True)
    key = SshKey(owner=customer, name="laptop", public_key=(tmp_path / "key.pub").read_text().strip())
    key.full_clean()
    key.save()
    return tmp_path / "key"


@pytest.fixture
def broken_vm(customer, local_host, settings, rescue_system, tmp_path):
    settings.VMM_RESCUE_KERNEL, settings.VMM_RESCUE_INITRD = rescue_system
    settings.VMM_STOP_TIMEOUT = 3  # what the BIOS waiting for a boot disk gets before it is powered off
    files = tmp_path / "fs"
    files.mkdir()
    (files / "marker").write_text(DATA + "\n")
    raw, disk = tmp_path / "disk.raw", tmp_path / "disk.qcow2"
    subprocess.run(["truncate", "-s", "64M", str(raw)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(files), str(raw)], check=True)
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(disk)], check=True)
    vm = VirtualMachine.objects.create(
        name="broken", owner=customer, host=local_host, status=VmStatus.ACTIVE, vcpus=1, memory_mb=512, disk_gb=1
    )
    driver = hypervisor_for(local_host)
    volume = driver.upload_volume(local_host.storage_pool, vm.disk_volume, str(disk), "qcow2")
    driver.define(domain_spec(vm, volume.path))
    driver.start(vm.domain_name)
    yield vm
    remove_from_host(vm)  # local_host then checks that nothing of the VM is left


class Console:
    """The VM's serial console, read into a buffer (the driver's stream, as the web console's bridge)."""

    def __init__(self, driver, domain):
        self.buffer = b""
        self.changed = threading.Condition()
        self.stream = driver.open_console(domain, self._data, lambda reason: None)

    def _data(self, data):
        with self.changed:
            self.buffer += data
            self.changed.notify_all()

    def expect(self, pattern, timeout=60):
        """Wait until `pattern` (a bytes regex) comes; returns what came before it, as text."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while (match := pattern.search(self.buffer)) is None:
                left = deadline - time.monotonic()
                shown = self.buffer[-2000:].decode(errors="replace")
                assert left > 0, f"no {pattern.pattern!r} on the console; it showed:\n{shown}"
                self.changed.wait(left)
            before, self.buffer = self.buffer[: match.start()], self.buffer[match.end() :]
            return before.decode(errors="replace")

    def run(self, command, timeout=60):
        """Type `command`, wait for the next prompt; what it printed (the echoed line included)."""
        with self.changed:
            self.buffer = b""
        self.stream.send(command.encode() + b"\r")
        return self.expect(PROMPT, timeout)


def test_a_broken_vm_is_repaired_in_rescue_mode_and_boots_its_own_disk_again(customer, saved_key, broken_vm, tmp_path):
    vm, driver = broken_vm, hypervisor_for(broken_vm.host)
    pool = vm.host.storage_pool

    job = runner.execute(rescue.enter_rescue(vm, actor=customer, request_id="rescue-real-0001").pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [s.name for s in job.steps.all()] == [
        "Copy the rescue system to the host",
        "Shut down the guest",
        "Boot the rescue system",
    ]
    vm.refresh_from_db()
    assert vm.rescue_since is not None and vm.power_state == "running"
    booted = parse_domain_xml(driver.domain_xml(vm.domain_name))
    paths = {v.name: v.path for v in driver.list_volumes(pool)}
    assert (booted.kernel, booted.initrd) == tuple(paths[name] for name in rescue_volumes(vm.uuid))
    assert [d.path for d in booted.disks if d.device == "disk"] == [paths[vm.disk_volume]]

    console = Console(driver, vm.domain_name)
    try:
        console.stream.send(b"\r")
        console.expect(PROMPT, timeout=120)  # TCG: the rescue system is up in about 10 s here
        console.run("mount /dev/vda /mnt")
        assert DATA in console.run("cat /mnt/marker")
        console.run("echo fixed-in-rescue > /mnt/repaired && umount /mnt")
        assert "/mnt" not in console.run("cat /proc/mounts")
        deadline = time.monotonic() + 60  # DHCP runs in the background from boot
        while (leased := re.search(r"inet (198\.51\.100\.\d+)/", console.run("ip -o -4 addr show dev eth0"))) is None:
            assert time.monotonic() < deadline, "no address from the test network's DHCP"
            time.sleep(2)
    finally:
        console.stream.close()
    assert (
        "SSH for root with the owner's 1 saved key(s)"
        in job.steps.get(name="Copy the rescue system to the host").detail
    )
    ssh = [
        "ssh", "-i", str(saved_key), "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", f"root@{leased.group(1)}",
    ]  # fmt: skip
    deadline = time.monotonic() + 30
    while (over_ssh := subprocess.run([*ssh, "cat /proc/partitions"], capture_output=True, text=True)).returncode:
        assert time.monotonic() < deadline, f"no SSH into the rescue system: {over_ssh.stderr}"
        time.sleep(2)
    assert " vda" in over_ssh.stdout

    job = runner.execute(rescue.leave_rescue(vm, actor=customer).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.steps.get(name="Shut down the rescue system").detail == "the guest shut down"  # ACPI, not forced
    own = parse_domain_xml(driver.domain_xml(vm.domain_name, inactive=True))
    assert (own.kernel, own.initrd, own.cmdline) == (None, None, None)
    assert driver.get_domain(vm.domain_name).state == "running"
    assert not set(rescue_volumes(vm.uuid)) & {v.name for v in driver.list_volumes(pool)}
    vm.refresh_from_db()
    assert vm.rescue_since is None and vm.current_job_id is None

    # The repair is on the VM's disk (read from a copy: the VM runs).
    copy = tmp_path / "after.raw"
    subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", paths[vm.disk_volume], str(copy)], check=True, timeout=60)
    read = subprocess.run(["debugfs", "-R", "cat /repaired", str(copy)], capture_output=True, text=True, check=True)
    assert read.stdout.strip() == "fixed-in-rescue"
