"""What happens to a VM's backups when it is deleted (kept by default, or forgotten with it),
the owner's backups of deleted VMs (listed, counted, deleted), restoring a backup into a new
VM (ordered like any VM) and the backup schedule a plan gives its new VMs (docs/backups.md).
The rules through the services; the jobs on libvirt's test driver with a real restic
repository in a temporary directory (the driver has no volume streams: a restore into a new
VM fails there when it sends the cloud-init seed, and must leave nothing behind). The real
restore into a new VM is in tests/deploy/backup_round_trip.py."""

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from apps.accounts.plans import Plan
from apps.accounts.quotas import Quota
from apps.accounts.services import plans as plan_service
from apps.backups import kept, restic, schedules
from apps.backups.models import Backup, BackupSchedule, BackupState
from apps.backups.restore_new import restore_into_new_vm
from apps.backups.services import create_backup
from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host
from apps.images.models import GuestConfig
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.vms.changes import delete_vm
from apps.vms.create import create_vm
from apps.vms.models import VirtualMachine, VmStatus

POOL = "default-pool"


@pytest.fixture
def roomy_host(test_host):
    Host.objects.filter(pk=test_host.pk).update(cpus=64, memory_mb=131072, disk_bytes=2**41)
    return Host.objects.get(pk=test_host.pk)


@pytest.fixture
def vm(customer, roomy_host, ready_image):
    return VirtualMachine.objects.create(
        name="backed", owner=customer, host=roomy_host, image=ready_image, status=VmStatus.ACTIVE, disk_gb=2
    )


def stored_backup(vm, repository, tmp_path, name="disk.raw"):
    """A ready backup of `vm` with a real restic snapshot (2 MiB of data)."""
    row = Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, filename=f"vm-{vm.pk}-vda.raw",
        image=vm.image, guest_config=GuestConfig.CLOUD_INIT,
    )  # fmt: skip
    data = tmp_path / name
    data.write_bytes(b"restored marker" + b"\0" * (2 * 2**20 - 15))
    restic.backup_file(repository, data, row.filename, [f"vm:{vm.pk}", row.tag])
    (snapshot,) = restic.snapshot_ids(repository, row.tag)
    Backup.objects.filter(pk=row.pk).update(state=BackupState.READY, restic_snapshot_id=snapshot, size_bytes=2 * 2**20)
    row.refresh_from_db()
    return row


def fields(exc):
    return set(exc.value.message_dict)


def test_deleting_a_vm_keeps_its_backups_by_default_for_its_owner(vm, repository, tmp_path, customer, reseller,
                                                                  admin_user, other_customer):  # fmt: skip
    backup = stored_backup(vm, repository, tmp_path)
    with pytest.raises(ValidationError) as exc:
        delete_vm(vm, keep_backups="no", actor=customer)
    assert fields(exc) == {"keep_backups"}
    job = runner.execute(delete_vm(vm, actor=customer).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.params == {"keep_backups": True}
    assert "kept" in job.steps.get(name="Forget its backups").detail
    backup.refresh_from_db()
    assert backup.vm_id is None and backup.owner == customer and backup.vm_name == "backed"
    assert restic.snapshot_ids(repository, backup.tag) == [backup.restic_snapshot_id]
    for actor in (customer, reseller, admin_user):
        assert list(kept.kept_backups(actor)) == [backup]
        assert kept.kept_backup_of(actor, backup.pk) == backup
    assert list(kept.kept_backups(other_customer)) == []
    with pytest.raises(Http404):
        kept.kept_backup_of(other_customer, backup.pk)


def test_deleting_a_vm_without_its_backups_forgets_them_in_restic(vm, repository, tmp_path, customer):
    first, second = stored_backup(vm, repository, tmp_path), stored_backup(vm, repository, tmp_path, "b.raw")
    job = runner.execute(delete_vm(vm, keep_backups=False, actor=customer).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert "2 backup(s) forgotten in local" in job.steps.get(name="Forget its backups").detail
    assert not Backup.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert restic.snapshot_ids(repository, f"vm:{vm.pk}") == []
    assert not VirtualMachine.objects.filter(pk=vm.pk).exists()
    restic.check(repository)


def test_a_kept_backup_counts_in_the_quota_and_its_owner_deletes_it(vm, repository, tmp_path, customer,
                                                                   other_customer):  # fmt: skip
    backup = stored_backup(vm, repository, tmp_path)
    Backup.objects.filter(pk=backup.pk).update(vm=None)
    Quota.objects.create(user=customer, max_backups=1)
    with pytest.raises(ValidationError) as exc:
        create_backup(vm, actor=customer)
    assert exc.value.error_dict["quota"][0].code == "quota_exceeded"
    with pytest.raises(Http404):
        kept.delete_kept_backup(backup.pk, actor=other_customer)
    with pytest.raises(Http404):  # a live VM's backup is deleted from its VM
        kept.delete_kept_backup(stored_backup(vm, repository, tmp_path, "live.raw").pk, actor=customer)
    Backup.objects.filter(pk=backup.pk).update(state=BackupState.RESTORING)
    with pytest.raises(ValidationError) as exc:
        kept.delete_kept_backup(backup.pk, actor=customer)
    assert fields(exc) == {"backup"}
    Backup.objects.filter(pk=backup.pk).update(state=BackupState.READY)
    job = kept.delete_kept_backup(backup.pk, actor=customer)
    assert job.kind == "backup_delete" and Backup.objects.get(pk=backup.pk).state == BackupState.DELETING
    job = runner.execute(job.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert not Backup.objects.filter(pk=backup.pk).exists()
    assert restic.snapshot_ids(repository, backup.tag) == []


def test_the_rules_of_restoring_into_a_new_vm(vm, repository, tmp_path, customer, other_customer, reseller,
                                             admin_user, ready_image):  # fmt: skip
    backup = stored_backup(vm, repository, tmp_path)
    Backup.objects.filter(pk=backup.pk).update(size_bytes=3 * 2**30)  # as a 3 GiB disk's backup
    order = {"name": "copy", "vcpus": 1, "memory_mb": 512}
    with pytest.raises(Http404):
        restore_into_new_vm(backup.pk, **order, actor=other_customer)
    for change, field in (
        ({"name": "backed"}, {"name"}),
        ({"name": "bad name!"}, {"name", "hostname"}),  # as an order: no host name to take from it
        ({"disk_gb": 2}, {"disk_gb"}),
        ({"vcpus": None}, {"vcpus"}),
        ({"host": vm.host_id}, {"host"}),
        ({"plan": 999999}, {"plan"}),
        ({"start": "yes"}, {"start"}),
    ):
        with pytest.raises(ValidationError) as exc:
            restore_into_new_vm(backup.pk, **{**order, **change}, actor=customer)
        assert fields(exc) == field, change
    Quota.objects.create(user=customer, max_vms=1)
    with pytest.raises(ValidationError) as exc:
        restore_into_new_vm(backup.pk, **order, actor=customer)
    assert fields(exc) == {"quota"}
    Quota.objects.filter(user=customer).update(max_vms=None)
    Backup.objects.filter(pk=backup.pk).update(state=BackupState.CREATING)
    with pytest.raises(ValidationError) as exc:
        restore_into_new_vm(backup.pk, **order, actor=customer)
    assert fields(exc) == {"backup"}
    assert VirtualMachine.objects.count() == 1
    Backup.objects.filter(pk=backup.pk).update(state=BackupState.READY)

    new, job = restore_into_new_vm(backup.pk, **order, actor=reseller)
    assert (new.owner, new.image, new.disk_gb, new.status) == (customer, ready_image, 3, VmStatus.CREATING)
    assert job.kind == "vm_backup_restore_new" and job.actor == reseller
    assert job.params == {"backup_id": backup.pk, "start": True, "hostname": "copy", "host_pinned": False}
    assert Backup.objects.get(pk=backup.pk).state == BackupState.RESTORING
    with pytest.raises(ValidationError) as exc:  # read by that job: not restored twice at once
        restore_into_new_vm(backup.pk, **{**order, "name": "copy-2"}, actor=admin_user)
    assert fields(exc) == {"backup"}


def test_a_restore_into_a_new_vm_of_a_deleted_vms_backup_that_fails_leaves_nothing(vm, repository, tmp_path,
                                                                                  customer, settings):  # fmt: skip
    backup = stored_backup(vm, repository, tmp_path)
    runner.execute(delete_vm(vm, actor=customer).pk)
    new, job = restore_into_new_vm(backup.pk, name="again", vcpus=1, memory_mb=512, start=False, actor=customer)
    job = runner.execute(job.pk)
    assert job.status == JobStatus.FAILED
    assert job.steps.get(name="Fetch the backup").status == "succeeded"
    assert job.steps.get(name="Choose a host").status == "succeeded"
    assert "not supported" in job.steps.get(name="Configure the guest").detail  # the seed: no volume streams
    new.refresh_from_db()
    assert new.status == VmStatus.FAILED and new.current_job is None
    left = [v.name for v in hypervisor_for(new.host).list_volumes(POOL) if v.name.startswith(f"vmm-{new.uuid}-")]
    assert left == []
    assert not (settings.VMM_WORK_DIR / str(job.pk)).exists()
    assert Backup.objects.get(pk=backup.pk).state == BackupState.READY


def test_a_plans_backup_schedule_is_given_to_its_new_vms(admin_user, customer, roomy_host, ready_image):
    for change, field in (
        ({"backup_frequency": "hourly"}, "backup_frequency"),
        ({"backup_frequency": "daily", "backup_keep_daily": 0, "backup_keep_weekly": 0}, "backup_keep_daily"),
        ({"backup_hour": 24}, "backup_hour"),
        ({"backup_weekday": 7}, "backup_weekday"),
    ):
        with pytest.raises(ValidationError) as exc:
            plan_service.create_plan(actor=admin_user, name="p", vcpus=1, memory_mb=512, disk_gb=5, **change)
        assert fields(exc) == {field}, change
    plan = plan_service.create_plan(
        actor=admin_user, name="backed-up", vcpus=1, memory_mb=512, disk_gb=5, backup_frequency="weekly",
        backup_hour=4, backup_weekday=2, backup_keep_daily=3, backup_keep_weekly=5,
    )  # fmt: skip
    plain = Plan.objects.create(name="plain", vcpus=1, memory_mb=512, disk_gb=5)
    order = {"image": ready_image, "password": "Str0ng-enough-pw", "actor": customer}
    vm, _job = create_vm(name="with-plan", plan=plan, **order)
    other, _job = create_vm(name="without", plan=plain, **order)
    schedule = BackupSchedule.objects.get(vm=vm)
    assert (schedule.frequency, schedule.hour, schedule.weekday, schedule.keep_daily, schedule.keep_weekly) == (
        "weekly", 4, 2, 3, 5,
    )  # fmt: skip
    assert schedule.next_run_at.weekday() == 2 and schedule.next_run_at.hour == 4
    assert not BackupSchedule.objects.filter(vm=other).exists()
    # Due while the VM is still being deployed: moved on to its next slot, no backup, no failure.
    BackupSchedule.objects.filter(pk=schedule.pk).update(next_run_at="2026-01-01T00:00Z")
    assert schedules.dispatch() == 0
    schedule.refresh_from_db()
    assert schedule.next_run_at.year > 2026 or schedule.next_run_at.month > 1
    assert schedule.last_failure_at is None and schedule.retry_at is None
    # The VM's own schedule replaces the plan's.
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.ACTIVE)
    vm.refresh_from_db()
    schedules.set_schedule(vm, frequency="daily", hour=1, keep_daily=2, keep_weekly=0, actor=customer)
    assert BackupSchedule.objects.get(vm=vm).frequency == "daily"
