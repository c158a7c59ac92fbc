"""Scheduled backups and retention (apps.backups.schedules, docs/backups.md): the rules of
setting a schedule, the next slot, the dispatcher (run by the jobs reconciler's
housekeeping) starting a due backup once, a failure retried once and then kept and shown
(API and VM pages), a success clearing it, and the retention on a real restic repository
(restic forget --keep-daily/--keep-weekly over the VM's scheduled backups only)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from apps.backups import restic, schedules
from apps.backups.models import Backup, BackupSchedule, BackupState
from apps.jobs import runner
from apps.jobs.models import Job, JobStatus
from apps.jobs.reconcile import reconcile
from tests.backups import test_backups as shared

vm = shared.vm  # the fixture: a stopped VM on the test driver (a local repository: tests/backups/conftest.py)

UTC = datetime.UTC


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_next_slot():
    monday_noon = at("2026-12-07T12:00")
    assert schedules.next_slot("daily", 3, 6, monday_noon) == at("2026-12-08T03:00")
    assert schedules.next_slot("daily", 13, 6, monday_noon) == at("2026-12-07T13:00")
    assert schedules.next_slot("daily", 12, 6, monday_noon) == at("2026-12-08T12:00")  # strictly after
    assert schedules.next_slot("weekly", 3, 6, monday_noon) == at("2026-12-13T03:00")  # Sunday
    assert schedules.next_slot("weekly", 13, 0, monday_noon) == at("2026-12-07T13:00")
    assert schedules.next_slot("weekly", 11, 0, monday_noon) == at("2026-12-14T11:00")


def test_the_rules_of_setting_a_schedule(vm, repository, customer, other_customer, reseller):
    good = {"frequency": "daily", "hour": 3, "keep_daily": 7, "keep_weekly": 4}
    with pytest.raises(Http404):
        schedules.set_schedule(vm, actor=other_customer, **good)
    for change, field in (
        ({"frequency": "hourly"}, "frequency"),
        ({"hour": 24}, "hour"),
        ({"hour": "3"}, "hour"),
        ({"weekday": 7}, "weekday"),
        ({"keep_daily": -1}, "keep_daily"),
        ({"keep_weekly": 521}, "keep_weekly"),
        ({"keep_daily": 0, "keep_weekly": 0}, "keep_daily"),
        ({"repository": 999999}, "repository"),
    ):
        with pytest.raises(ValidationError) as exc:
            schedules.set_schedule(vm, actor=customer, **{**good, **change})
        assert set(exc.value.message_dict) == {field}, change
    assert not BackupSchedule.objects.exists()
    schedule = schedules.set_schedule(vm, actor=reseller, **good, repository=repository.pk)
    assert schedule.repository == repository and schedule.next_run_at.hour == 3
    again = schedules.set_schedule(vm, actor=customer, **{**good, "frequency": "weekly", "weekday": 2})
    assert again.pk == schedule.pk and again.repository is None and again.next_run_at.weekday() == 2
    with pytest.raises(Http404):
        schedules.remove_schedule(vm, actor=other_customer)
    schedules.remove_schedule(vm, actor=customer)
    assert not BackupSchedule.objects.exists()
    with pytest.raises(Http404):
        schedules.remove_schedule(vm, actor=customer)


def test_a_due_backup_starts_once_a_failure_is_retried_once_then_shown(
    vm,
    repository,
    customer,
    client,
    django_capture_on_commit_callbacks,
):
    schedule = schedules.set_schedule(vm, actor=customer, frequency="daily", hour=3, keep_daily=2, keep_weekly=0)
    due = schedule.next_run_at
    assert schedules.dispatch(now=due - datetime.timedelta(minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=False):
        assert schedules.dispatch(now=due) == 1
        assert schedules.dispatch(now=due) == 0  # claimed: not twice
    job = Job.objects.get(kind="vm_backup_scheduled")
    assert job.actor is None and job.params["attempt"] == 1
    assert Backup.objects.get().scheduled
    schedule.refresh_from_db()
    assert schedule.next_run_at == due + datetime.timedelta(days=1) and schedule.last_run_at == due

    job = runner.execute(job.pk)  # the test driver cannot copy a disk: it fails
    assert job.status == JobStatus.FAILED
    assert [s.name for s in job.steps.order_by("position")][-1] == "Apply the retention"
    schedule.refresh_from_db()
    assert schedule.retry_at is not None and schedule.last_failure_at is None  # tried once more first

    with django_capture_on_commit_callbacks(execute=True):
        assert schedules.dispatch(now=schedule.retry_at) == 1
    retry = Job.objects.filter(kind="vm_backup_scheduled").latest("created_at")
    assert retry.params["attempt"] == 2 and retry.status == JobStatus.FAILED
    schedule.refresh_from_db()
    assert schedule.retry_at is None and schedule.last_failure_reason == retry.error

    client.force_login(customer)
    page = client.get(reverse("ui:vm_detail", args=[vm.pk])).content.decode()
    assert "data-backup-failure" in page and "The last scheduled backup failed" in page
    assert "data-backup-failure" in client.get(reverse("ui:vm_backups", args=[vm.pk])).content.decode()
    schedules.succeeded(vm.pk)
    assert "data-backup-failure" not in client.get(reverse("ui:vm_detail", args=[vm.pk])).content.decode()


def test_a_refused_scheduled_backup_counts_as_a_failure(vm, repository, customer):
    from apps.accounts.quotas import Quota

    Quota.objects.create(user=customer, max_backups=0)
    schedule = schedules.set_schedule(vm, actor=customer, frequency="daily", hour=3, keep_daily=1, keep_weekly=1)
    assert schedules.dispatch(now=schedule.next_run_at) == 0
    schedule.refresh_from_db()
    assert schedule.retry_at is not None
    assert schedules.dispatch(now=schedule.retry_at) == 0
    schedule.refresh_from_db()
    assert "max_backups" in schedule.last_failure_reason and not Backup.objects.exists()


def test_the_reconciler_runs_the_dispatcher(vm, repository, customer, django_capture_on_commit_callbacks):
    schedule = schedules.set_schedule(vm, actor=customer, frequency="daily", hour=3, keep_daily=1, keep_weekly=1)
    BackupSchedule.objects.filter(pk=schedule.pk).update(next_run_at=schedule.next_run_at - datetime.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=False):
        reconcile()
    assert Job.objects.filter(kind="vm_backup_scheduled").exists()


def test_retention_forgets_only_the_scheduled_backups_it_does_not_keep(vm, repository, customer, tmp_path):
    schedules.set_schedule(vm, actor=customer, frequency="daily", hour=3, keep_daily=1, keep_weekly=0)
    disk = tmp_path / "disk.raw"
    made = []
    for n, scheduled in enumerate((True, True, False, True)):
        disk.write_bytes(bytes([n]) * 4096)
        backup = Backup.objects.create(
            vm=vm, vm_name=vm.name, owner=customer, repository=repository, filename="vm-vda.raw", scheduled=scheduled
        )
        tags = [f"vm:{vm.pk}", backup.tag] + (["scheduled"] if scheduled else [])
        restic.backup_file(repository, disk, backup.filename, tags)
        (snapshot,) = restic.snapshot_ids(repository, backup.tag)
        Backup.objects.filter(pk=backup.pk).update(state=BackupState.READY, restic_snapshot_id=snapshot)
        made.append(backup.pk)

    class Ctx:
        notes = []

        def note(self, text):
            self.notes.append(text)

    ctx = Ctx()
    assert schedules.apply_retention(ctx, vm, repository) == 2
    assert sorted(Backup.objects.values_list("pk", flat=True)) == [made[2], made[3]]  # by hand, and the newest
    assert len(restic.snapshot_ids(repository, f"vm:{vm.pk}")) == 2
    assert "kept 1 scheduled backup(s)" in ctx.notes[0]
    restic.check(repository)
