"""Rescue mode (apps.vms.rescue, docs/rescue.md) on libvirt's test driver: the rules the two
doors do not show (tests/doors has their rows: entering, leaving, and the changes refused in
rescue mode), the rescue kernel's command line, and the jobs as far as the test driver goes:
it takes no uploads, so entering fails at its first step and leaves the VM as it was; leaving
runs whole. The real boot, the disk repaired from the serial console and the VM's own system
back is tests/deploy/test_rescue_real.py."""

import gzip
import stat
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from apps.backups.models import Backup, BackupRepository, BackupState, RepositoryState
from apps.backups.services import restore_backup
from apps.hosts.hypervisor import hypervisor_for
from apps.ipam.models import Address, Network, NetworkKind
from apps.ipam.pools import create_pool
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.virt.domain_xml import parse_domain_xml, with_direct_boot
from apps.vms import changes, rescue
from apps.vms.deploy.steps import domain_spec
from apps.vms.models import VirtualMachine, VmStatus
from apps.vms.rescue_initrd import write_initrd
from apps.vms.rescue_work import cmdline, rescue_volumes
from apps.vms.snapshots import create_snapshot
from tests.api.conftest import client_for
from tests.vms.factories import remove_from_test_driver

POOL = "default-pool"


@pytest.fixture
def vm(customer, test_host, ready_image, rescue_system):
    """An active VM running on the test driver, its disk a volume of the host's pool."""
    vm = VirtualMachine.objects.create(
        name="broken", owner=customer, host=test_host, image=ready_image, status=VmStatus.ACTIVE, disk_gb=1
    )
    driver = hypervisor_for(test_host)
    disk = driver.create_volume(POOL, vm.disk_volume, 2**30)
    driver.define(domain_spec(vm, disk.path))
    driver.start(vm.domain_name)
    yield vm
    remove_from_test_driver(vm, POOL)


def in_rescue(vm):
    """The VM as the enter job leaves it: booting the rescue system's files from its host."""
    driver = hypervisor_for(vm.host)
    kernel, initrd = (f"/var/lib/libvirt/images/{name}" for name in rescue_volumes(vm.uuid))
    driver.destroy(vm.domain_name)
    driver.define(with_direct_boot(driver.domain_xml(vm.domain_name, inactive=True), kernel, initrd, cmdline(vm)))
    driver.start(vm.domain_name)
    VirtualMachine.objects.filter(pk=vm.pk).update(rescue_since=timezone.now())
    vm.refresh_from_db()
    return vm


def test_another_customer_cannot_see_the_vm_to_rescue_it(vm, other_customer):
    with pytest.raises(Http404):
        rescue.enter_rescue(vm, actor=other_customer)
    with pytest.raises(Http404):
        rescue.leave_rescue(in_rescue(vm), actor=other_customer)
    assert VirtualMachine.objects.get(pk=vm.pk).current_job is None


def test_in_rescue_mode_snapshots_and_restores_are_refused_but_power_and_delete_are_not(vm, customer, tmp_path):
    in_rescue(vm)
    with pytest.raises(ValidationError) as refused:
        create_snapshot(vm, "before-fix", actor=customer)
    assert refused.value.message_dict == {"vm": ["The VM is in rescue mode: leave rescue mode first."]}
    repository = BackupRepository.objects.create(
        name="row", path=str(tmp_path / "row"), password="x" * 8, state=RepositoryState.READY
    )
    backup = Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=customer, repository=repository, state=BackupState.READY,
        restic_snapshot_id="a" * 64, filename=f"vm-{vm.pk}-vda.raw", size_bytes=2**30,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="rescue mode"):
        restore_backup(vm, backup.pk, confirm=True, actor=customer)

    # The rescue system is powered like the VM's own (a reboot reboots it), and the VM can go.
    job = changes.power_vm(vm, "reboot", actor=customer)
    assert job.kind == "vm_reboot"
    VirtualMachine.objects.filter(pk=vm.pk).update(current_job=None)
    assert changes.delete_vm(vm, actor=customer).kind == "vm_delete"


def test_the_rescue_kernel_is_told_the_vms_public_addresses(vm, test_host):
    assert cmdline(vm) == "console=tty0 console=ttyS0,115200 panic=-1"
    network = Network.objects.create(name="public", kind=NetworkKind.ISOLATED, libvirt_network="vmm-test-public")
    network.hosts.add(test_host)
    pool = create_pool(
        network=network, name="v4", subnet="203.0.113.0/24", gateway="203.0.113.1", dns_servers=["198.51.100.53"]
    )
    v6 = create_pool(
        network=network,
        name="v6",
        subnet="2001:db8::/64",
        gateway="2001:db8::1",
        ranges=[["2001:db8::10", "2001:db8::11"]],
    )
    Address.objects.filter(pool=pool, address="203.0.113.10").update(vm=vm)
    Address.objects.filter(pool=v6, address="2001:db8::10").update(vm=vm)
    assert cmdline(vm) == (
        "console=tty0 console=ttyS0,115200 panic=-1 "
        "vmm_rescue.ip=203.0.113.10/24,2001:db8::10/64 vmm_rescue.gw=203.0.113.1,2001:db8::1 "
        "vmm_rescue.dns=198.51.100.53"
    )


def test_a_host_that_takes_no_upload_fails_the_entry_and_leaves_the_vm_running_its_own_system(vm, customer):
    before = hypervisor_for(vm.host).domain_xml(vm.domain_name, inactive=True)
    job = runner.execute(rescue.enter_rescue(vm, actor=customer).pk)
    assert job.status == JobStatus.FAILED
    failed = job.steps.get(status="failed")
    assert failed.name == "Copy the rescue system to the host" and "not supported" in job.error
    vm.refresh_from_db()
    assert vm.rescue_since is None and vm.current_job_id is None
    driver = hypervisor_for(vm.host)
    assert driver.get_domain(vm.domain_name).state == "running"
    assert driver.domain_xml(vm.domain_name, inactive=True) == before
    assert not [v for v in driver.list_volumes(POOL) if v.name in rescue_volumes(vm.uuid)]


def test_leaving_boots_the_vms_own_disk_and_removes_the_rescue_files(vm, customer):
    in_rescue(vm)
    driver = hypervisor_for(vm.host)
    for name in rescue_volumes(vm.uuid):
        driver.create_volume(POOL, name, 2**20, format="raw")
    assert parse_domain_xml(driver.domain_xml(vm.domain_name, inactive=True)).kernel

    job = runner.execute(rescue.leave_rescue(vm, actor=customer).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [s.name for s in job.steps.all()] == ["Shut down the rescue system", "Boot the VM's own system"]
    own = parse_domain_xml(driver.domain_xml(vm.domain_name, inactive=True))
    assert (own.kernel, own.initrd, own.cmdline) == (None, None, None)
    assert [d.path for d in own.disks] == [driver.volume_info(POOL, vm.disk_volume).path]
    assert driver.get_domain(vm.domain_name).state == "running"
    assert not [v for v in driver.list_volumes(POOL) if v.name in rescue_volumes(vm.uuid)]
    vm.refresh_from_db()
    assert vm.rescue_since is None and vm.power_state == "running"
    with pytest.raises(ValidationError, match="not in rescue mode"):
        rescue.leave_rescue(vm, actor=customer)


def test_a_vm_suspended_in_rescue_mode_leaves_it_stopped(vm, customer):
    in_rescue(vm)
    hypervisor_for(vm.host).destroy(vm.domain_name)  # the suspension took it down
    VirtualMachine.objects.filter(pk=vm.pk).update(suspended_at=timezone.now(), suspension_reason="unpaid")
    vm.refresh_from_db()
    job = runner.execute(rescue.leave_rescue(vm, actor=customer).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.steps.get(name="Boot the VM's own system").detail == "the VM is suspended: left stopped"
    assert hypervisor_for(vm.host).get_domain(vm.domain_name).state == "shutoff"
    assert VirtualMachine.objects.get(pk=vm.pk).rescue_since is None


def test_the_owners_saved_keys_ride_in_the_initramfs_as_roots_authorized_keys(tmp_path):
    base = tmp_path / "base.img"
    base.write_bytes(b"\x1f\x8b the rescue system's own archive")  # 34 bytes: not on a 4-byte boundary
    keys = ["ssh-ed25519 AAAAC3Nza one@laptop", " ssh-rsa AAAAB3Nza two@desk \n"]
    initrd = tmp_path / "initrd.img"
    write_initrd(base, keys, initrd)

    data = initrd.read_bytes()
    assert data[:34] == base.read_bytes() and data[34:36] == b"\0\0"  # padded to the kernel's 4-byte boundary
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    # Read back by GNU cpio, not by the code that wrote it.
    cpio = ["cpio", "-idm", "--quiet", "--no-absolute-filenames"]
    subprocess.run(cpio, input=gzip.decompress(data[36:]), cwd=unpacked, check=True)
    authorized = unpacked / "root" / ".ssh" / "authorized_keys"
    assert authorized.read_text() == "ssh-ed25519 AAAAC3Nza one@laptop\nssh-rsa AAAAB3Nza two@desk\n"
    modes = [stat.S_IMODE(path.stat().st_mode) for path in (unpacked / "root", authorized.parent, authorized)]
    assert modes == [0o700, 0o700, 0o600]


def test_the_api_names_the_field_and_the_reason_for_each_refusal(vm, customer):
    api = client_for(customer)
    url = f"/api/v1/vms/{vm.pk}"

    def refusal(answer):
        assert answer.status_code == 400, answer.content
        return [(error["field"], error["code"]) for error in answer.json()["errors"]]

    assert refusal(api.post(f"{url}/unrescue/")) == [("vm", "not_in_rescue")]
    VirtualMachine.objects.filter(pk=vm.pk).update(suspended_at=timezone.now(), suspension_reason="unpaid")
    assert refusal(api.post(f"{url}/rescue/")) == [("vm", "suspended")]  # docs/billing.md's code
    VirtualMachine.objects.filter(pk=vm.pk).update(suspended_at=None)
    accepted = api.post(f"{url}/rescue/")
    assert accepted.status_code == 202 and accepted.json()["job"]["kind"] == "vm_rescue"
    VirtualMachine.objects.filter(pk=vm.pk).update(current_job=None, rescue_since=timezone.now())
    assert api.get(f"{url}/").json()["rescue_since"] is not None
    assert refusal(api.post(f"{url}/rescue/")) == [("vm", "in_rescue")]
    assert refusal(api.post(f"{url}/resize/", {"vcpus": 2}, format="json")) == [("vm", "in_rescue")]
    assert refusal(api.post(f"{url}/reset-password/", {"password": "Str0ng-enough-pw"}, format="json")) == [
        ("vm", "in_rescue")
    ]
