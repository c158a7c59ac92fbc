"""VM snapshots (apps.vms.snapshots, docs/snapshots.md) on libvirt's test driver: the rules
(tenancy, state, input, quota), and the jobs as far as the test driver goes: a stopped VM's
snapshot and revert (the domain's disk and the volumes' backing files read back), a running
VM reverted and started again, a running VM's snapshot the test driver cannot take and a
merge it cannot do (the jobs fail and leave
the VM as it was), and a deleted VM taking its snapshots' files with it. The real thing
(frozen guest, revert, merge while running) is tests/deploy/snapshot_round_trip.py."""

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from apps.accounts.quotas import Quota
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.jobs.runner import TargetBusy
from apps.virt.errors import VirtError
from apps.vms import changes
from apps.vms.deploy.steps import domain_spec
from apps.vms.models import Snapshot, SnapshotState, VirtualMachine, VmStatus
from apps.vms.quotas import usage
from apps.vms.snapshots import create_snapshot, delete_snapshot, revert_snapshot
from tests.vms.factories import remove_from_test_driver

POOL = "default-pool"


def volumes(vm):
    driver = hypervisor_for(vm.host)
    return {v.name: v for v in driver.list_volumes(POOL) if v.name.startswith(f"vmm-{vm.uuid}-")}


@pytest.fixture
def vm(customer, test_host, ready_image):
    """An active, stopped VM whose domain on the test driver writes to its disk0 volume."""
    vm = VirtualMachine.objects.create(
        name="snappy", owner=customer, host=test_host, image=ready_image, status=VmStatus.ACTIVE, disk_gb=1
    )
    driver = hypervisor_for(test_host)
    disk = driver.create_volume(POOL, vm.disk_volume, 2**30)
    driver.define(domain_spec(vm, disk.path))
    yield vm
    remove_from_test_driver(vm, POOL)


def run(job):
    return runner.execute(job.pk)


def top(vm):
    return hypervisor_for(vm.host).disk_source(vm.domain_name)


def test_a_stopped_vm_is_snapshotted_then_reverted_and_later_snapshots_go(vm, customer):
    job = run(create_snapshot(vm, "before-update", description="clean system", actor=customer))
    assert job.status == JobStatus.SUCCEEDED, job.error
    first = Snapshot.objects.get(vm=vm, name="before-update")
    assert (first.state, first.consistency, first.consistent, first.parent) == ("ready", "stopped", True, None)
    assert first.size_bytes is not None
    assert "the VM was stopped: consistent" in job.steps.get(name="Take the snapshot").detail
    disks = volumes(vm)
    assert top(vm) == disks[first.overlay_volume].path
    assert disks[first.overlay_volume].backing_path == disks[vm.disk_volume].path  # on the linked clone's disk0

    job = run(create_snapshot(vm, "after-update", actor=customer))
    assert job.status == JobStatus.SUCCEEDED, job.error
    second = Snapshot.objects.get(vm=vm, name="after-update")
    assert second.parent == first
    assert volumes(vm)[second.overlay_volume].backing_path == volumes(vm)[first.overlay_volume].path
    assert usage(customer)["snapshots"] == 2

    old_overlay = first.overlay_volume
    job = run(revert_snapshot(vm, first.pk, confirm=True, actor=customer))
    assert job.status == JobStatus.SUCCEEDED, job.error
    first.refresh_from_db()
    assert first.state == SnapshotState.READY
    assert list(Snapshot.objects.filter(vm=vm).values_list("name", flat=True)) == ["before-update"]
    disks = volumes(vm)
    assert set(disks) == {vm.disk_volume, first.overlay_volume}  # the old top and the later layer are gone
    assert first.overlay_volume != old_overlay
    assert top(vm) == disks[first.overlay_volume].path
    assert disks[first.overlay_volume].backing_path == disks[vm.disk_volume].path
    assert "1 later snapshot(s) discarded" in job.steps.get(name="Go back to the snapshot").detail
    assert job.steps.get(name="Start the VM").detail == "left stopped, as it was"


def test_a_running_vm_is_reverted_and_started_again(vm, customer):
    """A revert powers the VM off, puts the snapshot back and starts it again if it ran (the
    real guest's revert, left stopped there to spare a boot, is tests/deploy/snapshot_round_trip.py)."""
    snapshot = run(create_snapshot(vm, "clean", actor=customer))
    assert snapshot.status == JobStatus.SUCCEEDED, snapshot.error
    snapshot = Snapshot.objects.get(vm=vm, name="clean")
    driver = hypervisor_for(vm.host)
    driver.start(vm.domain_name)
    VirtualMachine.objects.filter(pk=vm.pk).update(power_state="running")
    old_overlay = snapshot.overlay_volume

    job = run(revert_snapshot(vm, snapshot.pk, confirm=True, actor=customer))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.steps.get(name="Start the VM").detail == "started"
    assert driver.get_domain(vm.domain_name).state == "running"
    snapshot.refresh_from_db()
    assert snapshot.overlay_volume != old_overlay and top(vm) == volumes(vm)[snapshot.overlay_volume].path
    vm.refresh_from_db()
    assert vm.power_state == "running" and vm.current_job is None


def test_a_running_vm_the_driver_cannot_snapshot_is_left_as_it_was(vm, customer):
    hypervisor_for(vm.host).start(vm.domain_name)
    before = top(vm)
    job = run(create_snapshot(vm, "live", actor=customer))
    assert job.status == JobStatus.FAILED
    assert not Snapshot.objects.filter(vm=vm).exists()
    assert set(volumes(vm)) == {vm.disk_volume}  # the overlay made for it is removed
    assert top(vm) == before
    vm.refresh_from_db()
    assert vm.current_job_id is None


def test_a_merge_the_driver_cannot_do_fails_and_the_snapshot_stays(vm, customer):
    run(create_snapshot(vm, "keep", actor=customer))
    snapshot = Snapshot.objects.get(vm=vm)
    driver = hypervisor_for(vm.host)
    # Stopped: the test driver cannot start a domain paused for the merge.
    job = run(delete_snapshot(vm, snapshot.pk, actor=customer))
    assert job.status == JobStatus.FAILED
    assert "unsupported flags" in job.error
    assert driver.get_domain(vm.domain_name).state == "shutoff"
    # Running: it has no block commit.
    driver.start(vm.domain_name)
    job = run(delete_snapshot(vm, snapshot.pk, actor=customer))
    assert job.status == JobStatus.FAILED
    assert "not supported" in job.error
    assert driver.get_domain(vm.domain_name).state == "running"
    snapshot.refresh_from_db()
    assert snapshot.state == SnapshotState.READY
    assert top(vm) == volumes(vm)[snapshot.overlay_volume].path


def test_a_failed_snapshot_whose_layer_is_not_in_use_is_deleted_without_a_merge(vm, customer):
    driver = hypervisor_for(vm.host)
    name = f"vmm-{vm.uuid}-snap-lost.qcow2"
    driver.clone_volume_linked(POOL, name, volumes(vm)[vm.disk_volume].path)
    lost = Snapshot.objects.create(vm=vm, name="lost", overlay_volume=name, state=SnapshotState.FAILED)
    job = run(delete_snapshot(vm, lost.pk, actor=customer))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert "nothing to merge" in job.steps.get(name="Merge the snapshot's layer").detail
    assert not Snapshot.objects.filter(pk=lost.pk).exists()
    assert set(volumes(vm)) == {vm.disk_volume}


def test_deleting_the_vm_removes_its_snapshots_files(vm, customer):
    run(create_snapshot(vm, "one", actor=customer))
    driver = hypervisor_for(vm.host)
    driver.clone_volume_linked(POOL, f"vmm-{vm.uuid}-snap-leftover.qcow2", volumes(vm)[vm.disk_volume].path)
    assert len(volumes(vm)) == 3
    job = run(changes.delete_vm(vm, actor=customer))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert volumes(vm) == {}
    assert not Snapshot.objects.exists()
    with pytest.raises(VirtError):
        driver.get_domain(vm.domain_name)


def test_the_rules(vm, customer, other_customer):
    with pytest.raises(Http404):
        create_snapshot(vm, "x", actor=other_customer)
    with pytest.raises(ValidationError) as caught:
        create_snapshot(vm, "no spaces!", description="d" * 501, actor=customer)
    assert set(caught.value.message_dict) == {"name", "description"}
    create_snapshot(vm, "one", actor=customer)
    Snapshot.objects.filter(vm=vm).update(state=SnapshotState.READY)
    VirtualMachine.objects.filter(pk=vm.pk).update(current_job=None)
    with pytest.raises(ValidationError) as caught:
        create_snapshot(vm, "one", actor=customer)
    assert caught.value.error_dict["name"][0].code == "unique"
    one = Snapshot.objects.get(vm=vm)
    with pytest.raises(ValidationError) as caught:
        revert_snapshot(vm, one.pk, actor=customer)
    assert caught.value.error_dict["confirm"][0].code == "required"
    with pytest.raises(Http404):
        revert_snapshot(vm, one.pk, confirm=True, actor=other_customer)
    with pytest.raises(Http404):
        delete_snapshot(vm, 10**9, actor=customer)

    runner.submit("vm_stop", vm, actor=customer)  # busy: nothing is kept
    with pytest.raises(TargetBusy):
        create_snapshot(vm, "two", actor=customer)
    with pytest.raises(TargetBusy):
        delete_snapshot(vm, one.pk, actor=customer)
    assert list(Snapshot.objects.values_list("name", "state")) == [("one", "ready")]


def test_suspended_and_inactive_vms(vm, customer):
    VirtualMachine.objects.filter(pk=vm.pk).update(suspended_at="2026-01-01T00:00Z", suspension_reason="unpaid")
    vm.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        create_snapshot(vm, "x", actor=customer)
    assert "suspended" in caught.value.message_dict["vm"][0]
    one = Snapshot.objects.create(vm=vm, name="one", overlay_volume="x", state=SnapshotState.READY)
    with pytest.raises(ValidationError):
        revert_snapshot(vm, one.pk, confirm=True, actor=customer)
    assert delete_snapshot(vm, one.pk, actor=customer).kind == "vm_snapshot_delete"  # only frees space

    other = VirtualMachine.objects.create(name="failed", owner=customer, host=vm.host, status=VmStatus.FAILED)
    with pytest.raises(ValidationError) as caught:
        create_snapshot(other, "x", actor=customer)
    assert "active" in caught.value.message_dict["vm"][0]


def test_the_snapshot_quota_of_the_customer_and_of_its_reseller(vm, customer, reseller):
    Quota.objects.create(user=customer, max_snapshots=1)
    Snapshot.objects.create(vm=vm, name="one", overlay_volume="x", state=SnapshotState.READY)
    with pytest.raises(ValidationError) as caught:
        create_snapshot(vm, "two", actor=customer)
    error = caught.value.error_dict["quota"][0]
    assert error.code == "quota_exceeded"
    assert "max_snapshots" in error.message
    assert Snapshot.objects.count() == 1
    Quota.objects.filter(user=customer).update(max_snapshots=None)
    Quota.objects.create(user=reseller, max_snapshots=1)
    with pytest.raises(ValidationError) as caught:
        create_snapshot(vm, "two", actor=customer)
    assert "reseller" in caught.value.message_dict["quota"][0]
    assert usage(reseller)["snapshots"] == 1


def test_an_image_is_not_made_from_a_vm_with_snapshots(vm, customer):
    Snapshot.objects.create(vm=vm, name="one", overlay_volume="x", state=SnapshotState.READY)
    with pytest.raises(ValidationError) as caught:
        changes.make_image(vm, "tmpl", actor=customer)
    assert "snapshots" in caught.value.message_dict["vm"][0]
