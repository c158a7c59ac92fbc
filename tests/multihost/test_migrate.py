"""Migration between two real remote hosts (libvirt in containers, qemu+tcp:// on loopback):
a stopped VM, a linked clone of the plain image on one host, moves cold to the other through
the vm_migrate job. Afterwards its domain is on the target only, its disk there is a linked
clone of the target's own copy of the image, the source keeps no domain and no volume of it,
and it boots on the target (its guest agent answers from the moved disk). Then, running, it
moves back live: the same boot (its boot id, read through the agent), its disk again a
linked clone of the first host's copy, nothing left behind. Last, that host goes into
maintenance and is emptied: the VM moves live once more, still the same boot.
The VM has snapshots throughout (one taken stopped, one running): their layers move with it,
each pointed at the one below on the host it goes to, and a marker written after the second
is read back from the disk after the live move; a snapshot is merged where it ends up. A
counter the guest keeps in memory counts on through a live move, and the emptying of a host
moves a second, stopped VM cold beside the running one.
Both hosts are in one cluster whose baseline CPU (libvirt's baseline of the CPUs the two
hosts offer TCG guests) is the VM's CPU throughout: defined with it, booted and moved with it.

Lean on purpose: the VM is made directly on the source (its image copy, a linked clone and
the domain, stopped) instead of through a deploy, so only one boot waits for a guest."""

import threading
import time
import xml.etree.ElementTree as ET

import pytest

from apps.hosts.clusters import compute_baseline_now
from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Cluster
from apps.hosts.services import refresh_host, set_maintenance
from apps.images.hostcopy import ensure_on_host
from apps.images.models import CopyStatus, ImageCopy
from apps.jobs.models import JobStatus, StepStatus
from apps.virt.domain_xml import cpu_model_name
from apps.virt.errors import NotFound
from apps.vms import migrate_work
from apps.vms.changes import delete_vm, power_vm
from apps.vms.cleanup import settle_owed
from apps.vms.create import new_mac
from apps.vms.deploy.steps import domain_spec
from apps.vms.evacuation import evacuate_host
from apps.vms.migration import migrate_vm
from apps.vms.models import PowerState, Snapshot, VirtualMachine, VmStatus
from apps.vms.snapshots import create_snapshot, delete_snapshot
from tests.multihost.test_watch_hosts import podman_env, start_libvirtd, stop_libvirtd, virsh  # noqa: F401 (fixture)

pytestmark = [pytest.mark.libvirt, pytest.mark.multihost, pytest.mark.slow, pytest.mark.timeout(600)]


def finished(job):
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error, [(s.name, s.detail) for s in job.steps.all()])
    return job


def cpu_of(driver, vm):
    """The model of the CPU `vm` runs with (or is defined with) there."""
    cpu = ET.fromstring(driver.domain_xml(vm.domain_name)).find("cpu")
    return cpu_model_name(ET.tostring(cpu, encoding="unicode")) if cpu is not None else None


def stopped_vm_on(host, owner, image, name="mover"):
    """A VM as a deploy leaves it, stopped: a linked clone of the host's copy of `image`."""
    vm = VirtualMachine.objects.create(
        name=name, owner=owner, host=host, image=image, vcpus=1, memory_mb=512, disk_gb=2,
        mac_address=new_mac(), status=VmStatus.ACTIVE, power_state=PowerState.STOPPED,
    )  # fmt: skip
    driver = hypervisor_for(host)
    copy = ensure_on_host(image, host)
    disk = driver.clone_volume_linked(host.storage_pool, vm.disk_volume, copy.path, vm.disk_gb * 2**30)
    driver.define(domain_spec(vm, disk.path))
    return vm


def snapshot(vm, name, actor, capture):
    """Take snapshot `name` of `vm` (its job run); returns its overlay's volume name."""
    with capture(execute=True):
        job = create_snapshot(vm, name, actor=actor)
    finished(job)
    return Snapshot.objects.get(vm=vm, name=name).overlay_volume


def chain_on(driver, host, vm):
    """The VM's layers on `host`, top first (by volume name), and what the bottom lies on (the
    pool read again first: libvirt keeps a volume's backing file as it last read it)."""
    driver.refresh_pool(host.storage_pool)
    names, path = [], driver.disk_source(vm.domain_name)
    while path and path.rsplit("/", 1)[-1].startswith(f"vmm-{vm.uuid}-"):
        names.append(path.rsplit("/", 1)[-1])
        path = driver.volume_info(host.storage_pool, names[-1]).backing_path
    return names, path


def test_a_vm_moves_cold_to_the_other_host_as_a_linked_clone_boots_there_and_moves_back_live(
    admin_user,
    customer,
    remote_hosts,
    plain_image,
    django_capture_on_commit_callbacks,
    settings,
    podman_env,  # noqa: F811
):
    settings.VMM_HOST_OUTAGE_WINDOW = 5  # the target stopped mid-way is given up on quickly
    source, target = remote_hosts
    src, dst = hypervisor_for(source), hypervisor_for(target)
    # One cluster; its baseline from the CPUs the hosts' checks read (refresh_host).
    assert source.cluster == target.cluster and source.cpu_model and target.cpu_model
    with django_capture_on_commit_callbacks(execute=True):
        baseline = compute_baseline_now(admin_user, source.cluster)
    finished(baseline)
    cluster = Cluster.objects.get(pk=source.cluster_id)
    assert cluster.cpu_model and "of 2 host(s)" in cluster.cpu_note, cluster.cpu_note
    vm = stopped_vm_on(source, customer, plain_image)
    first = snapshot(vm, "stopped", customer, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):  # the job runs when the transaction "commits"
        job = migrate_vm(vm, host=target.name, actor=admin_user)
    finished(job)
    assert [s.status for s in job.steps.all()] == [StepStatus.SUCCEEDED] * len(migrate_work.STEPS)
    vm.refresh_from_db()
    assert vm.host == target and vm.power_state == PowerState.STOPPED

    # The domain is on the target only, shut off as it was; the source has nothing of it left.
    assert dst.get_domain(vm.domain_name).state == "shutoff"
    with pytest.raises(NotFound):
        src.get_domain(vm.domain_name)
    assert not [v.name for v in src.list_volumes(source.storage_pool) if v.name.startswith("vmm-")]

    # Its disk on the target is a linked clone of the target's own verified copy of the image.
    copy = ImageCopy.objects.get(image=plain_image, host=target)
    assert copy.status == CopyStatus.READY
    disk = dst.volume_info(target.storage_pool, vm.disk_volume)
    assert disk.backing_path == copy.path and disk.capacity_bytes == 2 * 2**30
    assert disk.allocation_bytes < 64 * 2**20  # its own layer, not the whole image
    assert "linked clone" in job.steps.get(name="Copy the disk to the target").detail
    assert f"of a snapshot's layer sent ({first})" in job.steps.get(name="Copy the disk to the target").detail
    assert chain_on(dst, target, vm) == ([first, vm.disk_volume], copy.path)  # the snapshot's layer on top

    assert cpu_of(dst, vm) == cluster.cpu_model  # the cluster's baseline CPU, defined on the target

    # It boots there: the guest agent answers from the moved disk.
    with django_capture_on_commit_callbacks(execute=True):
        start = power_vm(vm, "start", actor=customer)
    finished(start)
    deadline = time.monotonic() + 240
    while not dst.agent_ready(vm.domain_name):
        assert dst.get_domain(vm.domain_name).state == "running"
        assert time.monotonic() < deadline, "the guest did not come up on the target"
        time.sleep(1)

    boot_id = dst.agent_exec(vm.domain_name, ["cat", "/proc/sys/kernel/random/boot_id"])[1].strip()
    assert boot_id
    vm.refresh_from_db()
    second = snapshot(vm, "running", customer, django_capture_on_commit_callbacks)
    assert chain_on(dst, target, vm)[0] == [second, first, vm.disk_volume]
    marker = ["sh", "-c", "echo 3 > /proc/sys/vm/drop_caches && cat /root/marker"]  # read from the disk
    assert dst.agent_exec(vm.domain_name, ["sh", "-c", "echo after-the-snapshots > /root/marker && sync"])[0] == 0

    # Running, it moves back live: same boot, a linked clone of the first host's copy again,
    # and a counter the guest keeps in memory counted on through the move.
    vm.refresh_from_db()
    assert vm.power_state == PowerState.RUNNING
    # Written aside and renamed: a read never meets the file truncated and not yet written.
    counting = "i=0; while :; do i=$((i+1)); echo $i > /run/c.new; mv /run/c.new /run/vmm-counter; sleep 0.1; done"
    assert dst.agent_exec(vm.domain_name, ["sh", "-c", f"setsid sh -c '{counting}' >/dev/null 2>&1 &"])[0] == 0
    counter = ["cat", "/run/vmm-counter"]
    deadline = time.monotonic() + 30  # the emulated guest may take a while to start it when the machine is busy
    while (read := dst.agent_exec(vm.domain_name, counter))[0] != 0:
        assert time.monotonic() < deadline, f"the guest's counter did not start: {read[1]}"
        time.sleep(0.5)
    before = int(read[1])
    with django_capture_on_commit_callbacks(execute=True):
        back = migrate_vm(vm, actor=admin_user)  # placement: the only other host
    finished(back)
    vm.refresh_from_db()
    assert vm.host == source and vm.power_state == PowerState.RUNNING
    assert "moved live" in back.steps.get(name="Put the VM on the target").detail
    assert src.get_domain(vm.domain_name).state == "running"
    assert src.agent_exec(vm.domain_name, ["cat", "/proc/sys/kernel/random/boot_id"])[1].strip() == boot_id
    with pytest.raises(NotFound):
        dst.get_domain(vm.domain_name)
    assert not [v.name for v in dst.list_volumes(target.storage_pool) if v.name.startswith("vmm-")]
    home = ImageCopy.objects.get(image=plain_image, host=source)
    assert src.volume_info(source.storage_pool, vm.disk_volume).backing_path == home.path
    # The snapshots' layers came along: the frozen ones sent first, the top by the migration.
    assert chain_on(src, source, vm) == ([second, first, vm.disk_volume], home.path)
    assert src.agent_exec(vm.domain_name, marker)[1].strip() == "after-the-snapshots"
    after = int(src.agent_exec(vm.domain_name, counter)[1])
    time.sleep(0.5)
    assert before < after < int(src.agent_exec(vm.domain_name, counter)[1])  # it never stopped counting

    # Its host goes into maintenance and is emptied: the running VM moves live again, and a
    # stopped VM there moves cold beside it.
    quiet = stopped_vm_on(source, customer, plain_image, name="quiet")
    set_maintenance(admin_user, source, True)
    with django_capture_on_commit_callbacks(execute=True):
        emptied = evacuate_host(admin_user, source)
    finished(emptied)
    moves = emptied.steps.get(name="Move the VMs").detail
    assert f"mover moved to {target.name}" in moves and f"quiet moved to {target.name}" in moves, moves
    quiet.refresh_from_db()
    assert quiet.host == target and dst.get_domain(quiet.domain_name).state == "shutoff"
    assert chain_on(dst, target, quiet) == ([quiet.disk_volume], copy.path)
    vm.refresh_from_db()
    assert vm.host == target and vm.power_state == PowerState.RUNNING
    assert dst.get_domain(vm.domain_name).state == "running"
    assert dst.agent_exec(vm.domain_name, ["cat", "/proc/sys/kernel/random/boot_id"])[1].strip() == boot_id
    assert cpu_of(dst, vm) == cluster.cpu_model  # moved live twice with the baseline CPU
    assert chain_on(dst, target, vm) == ([second, first, vm.disk_volume], copy.path)
    assert src.list_domains() == []
    assert not [v.name for v in src.list_volumes(source.storage_pool) if v.name.startswith("vmm-")]

    # Moving it back, the target's libvirtd stops mid-way (the migration slowed to 16 MiB/s
    # so that it is still copying): the VM keeps running where it was, the same boot; once the
    # target is back, what the failed move made there is removed as owed.
    set_maintenance(admin_user, source, False)
    refresh_host(source)
    virsh(target, "migrate-setspeed", vm.domain_name, "16")

    def stop_mid_way():
        time.sleep(4)
        stop_libvirtd(podman_env, source)

    killer = threading.Thread(target=stop_mid_way)
    killer.start()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            broken = migrate_vm(vm, host=source.name, actor=admin_user)
    finally:
        killer.join()
        start_libvirtd(podman_env, source)
    broken.refresh_from_db()
    assert broken.status == JobStatus.FAILED, [(s.name, s.status, s.detail) for s in broken.steps.all()]
    print(f"killed: {broken.error}")
    vm.refresh_from_db()
    assert vm.host == target and dst.get_domain(vm.domain_name).state == "running"
    assert dst.agent_exec(vm.domain_name, ["cat", "/proc/sys/kernel/random/boot_id"])[1].strip() == boot_id
    refresh_host(source)
    settle_owed(source, hypervisor_for(source))
    assert [d.name for d in src.list_domains() if d.name == vm.domain_name] == []
    assert not [v.name for v in src.list_volumes(source.storage_pool) if v.name.startswith("vmm-")]

    # Its snapshots still work where it ended up: the lower one merged while it runs.
    with django_capture_on_commit_callbacks(execute=True):
        merge = delete_snapshot(vm, Snapshot.objects.get(vm=vm, name="stopped"), actor=customer)
    finished(merge)
    assert chain_on(dst, target, vm) == ([second, vm.disk_volume], copy.path)
    assert dst.agent_exec(vm.domain_name, marker)[1].strip() == "after-the-snapshots"

    with django_capture_on_commit_callbacks(execute=True):
        gone = delete_vm(vm, actor=customer)
    finished(gone)
    with django_capture_on_commit_callbacks(execute=True):
        quiet_gone = delete_vm(quiet, actor=customer)
    finished(quiet_gone)
    assert dst.list_domains() == [] and src.list_domains() == []
    assert not [v.name for v in dst.list_volumes(target.storage_pool) if v.name.startswith("vmm-")]
    print(f"live: {back.steps.get(name='Put the VM on the target').detail}")
