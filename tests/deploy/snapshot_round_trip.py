"""Snapshots of a real TCG guest on the local libvirtd (docs/snapshots.md), run on a guest a
deploy test has made (each new guest, and each boot, costs the suite a minute or so):
snapshots deleted while the guest runs (one below the top with a plain commit, then the top
with an active commit: the data kept, read back through the guest agent); a marker file
written through the agent, a snapshot with the filesystems frozen, the marker overwritten
in place; the VM stopped, the revert (left stopped: no boot), the first marker read off
the disk (tests/deploy/guest_disk.py); that snapshot deleted while the VM is stopped (merged
with the domain started paused); a snapshot of the stopped VM kept while the VM is deleted,
and nothing of it left on the host (the local_host fixture checks). A revert of a running
VM starts it again (tests/vms, on the test driver)."""

import os
import time

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import JobStatus
from apps.vms.changes import delete_vm
from apps.vms.models import Snapshot
from apps.vms.snapshots import create_snapshot, delete_snapshot, revert_snapshot
from tests.deploy.guest_disk import on_disk, where


def finished(capture, fn, *args, **kwargs):
    with capture(execute=True):
        job = fn(*args, **kwargs)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error, [(s.name, s.detail) for s in job.steps.all()])
    return job


def agent(driver, vm, script, timeout=240):  # a cloud-init boot under a busy CI lane
    deadline = time.monotonic() + timeout
    while not driver.agent_ready(vm.domain_name):
        assert time.monotonic() < deadline, "the guest agent did not answer"
        time.sleep(1)
    code, output = driver.agent_exec(vm.domain_name, ["/bin/sh", "-c", script], timeout=60)
    assert code == 0, output
    return output


def snapshot_volumes(driver, vm):
    return sorted(v.name for v in driver.list_volumes(vm.host.storage_pool) if v.name.startswith(f"vmm-{vm.uuid}-snap"))


def snapshots_round_trip(capture, customer, vm, while_stopped=None):
    """Everything above on `vm` (running, on the local host, its disk a linked clone), which
    is deleted at the end. `while_stopped()`, if given, runs while the VM is stopped and has
    no snapshots (the backups' restore, tests/deploy/backup_round_trip.py: no boot added)."""
    local_host = vm.host
    driver = hypervisor_for(local_host)
    disk0 = driver.volume_info(local_host.storage_pool, vm.disk_volume).path

    # Running: two snapshots; the one below the top deleted (a plain commit, the top rebased
    # on the disk), then the top (an active commit); the data kept.
    agent(driver, vm, "echo third-marker > /root/marker && sync")
    finished(capture, create_snapshot, vm, "a", actor=customer)
    agent(driver, vm, "echo fourth-marker > /root/marker && sync")
    finished(capture, create_snapshot, vm, "b", actor=customer)
    b = Snapshot.objects.get(vm=vm, name="b")
    assert b.parent == Snapshot.objects.get(vm=vm, name="a")
    assert os.path.basename(driver.disk_source(vm.domain_name)) == b.overlay_volume
    finished(capture, delete_snapshot, vm, b.parent_id, actor=customer)  # below the top: commit, then b on disk0
    b.refresh_from_db()
    assert b.parent is None
    driver.refresh_pool(local_host.storage_pool)  # libvirt re-reads the rewritten header
    assert driver.volume_info(local_host.storage_pool, b.overlay_volume).backing_path == disk0
    finished(capture, delete_snapshot, vm, b.pk, actor=customer)  # the top: active commit
    assert driver.disk_source(vm.domain_name) == disk0
    assert driver.disk_source(vm.domain_name, inactive=True) == disk0
    assert snapshot_volumes(driver, vm) == []
    assert agent(driver, vm, "cat /root/marker").strip() == "fourth-marker"  # the merges kept the data

    # A snapshot with the filesystems frozen, the marker then overwritten in place; stopped,
    # the revert (the VM left stopped: no boot) and the first marker read off the disk.
    agent(driver, vm, "echo first-marker > /root/marker")  # no sync: the freeze flushes it
    job = finished(capture, create_snapshot, vm, "before", actor=customer)
    snapshot = Snapshot.objects.get(vm=vm, name="before")
    assert snapshot.consistency == "frozen", job.steps.get(name="Take the snapshot").detail
    at = int(agent(driver, vm, where("/root/marker")).strip())
    agent(driver, vm, "printf other-marker | dd of=/root/marker conv=notrunc,fsync status=none")
    driver.destroy(vm.domain_name)
    assert on_disk(driver.disk_source(vm.domain_name, inactive=True), at, 12) == "other-marker"
    job = finished(capture, revert_snapshot, vm, snapshot, confirm=True, actor=customer)
    assert job.steps.get(name="Start the VM").detail == "left stopped, as it was"
    assert on_disk(driver.disk_source(vm.domain_name, inactive=True), at, 12) == "first-marker"

    # Stopped: the snapshot deleted, merged with the domain started paused.
    job = finished(capture, delete_snapshot, vm, snapshot.pk, actor=customer)
    assert "merged" in job.steps.get(name="Merge the snapshot's layer").detail
    assert driver.get_domain(vm.domain_name).state == "shutoff"  # started paused for the merge, then destroyed
    assert driver.disk_source(vm.domain_name, inactive=True) == disk0
    assert snapshot_volumes(driver, vm) == []
    assert on_disk(disk0, at, 12) == "first-marker"
    if while_stopped is not None:
        while_stopped()

    finished(capture, create_snapshot, vm, "kept-to-the-end", actor=customer)
    assert Snapshot.objects.get(vm=vm, name="kept-to-the-end").consistency == "stopped"
    assert len(snapshot_volumes(driver, vm)) == 1
    finished(capture, delete_vm, vm, actor=customer)  # its overlay goes with it (local_host checks the host)
