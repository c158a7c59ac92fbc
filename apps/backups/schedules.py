"""Scheduled backups and their retention (docs/backups.md, "Schedules and retention").

- `set_schedule` / `remove_schedule`: the one door for a VM's schedule (both doors call
  them). Who: the VM's owner, its reseller and staff (Http404 for anyone else). Input:
  `frequency` daily or weekly, `hour` 0-23 (UTC), `weekday` 0-6 (Monday 0; weekly only),
  `keep_daily` 0-365 and `keep_weekly` 0-520 (not both 0), `repository` a ready one or
  none (then the first ready one when it runs). Only an active VM gets a schedule.
- `from_plan`: a new VM of a plan with a backup schedule gets it as its own, in the order's
  transaction (registered with apps.vms.create); the VM's own schedule replaces it.
- `dispatch` (the jobs reconciler's housekeeping, every minute: one periodic dispatcher
  run by django-q2's "reconcile jobs" schedule, not one django-q2 Schedule per VM): each
  schedule whose `next_run_at` (or `retry_at`) has come is claimed (a conditional UPDATE:
  two reconcilers never start it twice), moved to its next slot, and its backup started
  through `services.create_backup` (the same rules: a suspended VM, a busy VM, the quota
  refuse it like any backup; a VM still being deployed is skipped to its next slot). A
  refusal or a failed job is retried once, RETRY_AFTER
  later; the retry's failure is kept as the schedule's last failure with its reason.
- `apply_retention` (the last step of the `vm_backup_scheduled` job): restic's own
  `forget --keep-daily N --keep-weekly M --prune` over the VM's scheduled backups only (tag
  `scheduled`; backups taken by hand are never forgotten by a schedule); the rows of the
  forgotten ones go.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.backups import restic, services
from apps.backups.models import Backup, BackupSchedule, BackupState, ScheduleFrequency
from apps.jobs.runner import TargetBusy
from apps.vms.models import VmStatus

RETRY_AFTER = datetime.timedelta(minutes=10)
KEEP_DAILY_MAX, KEEP_WEEKLY_MAX = 365, 520
SCHEDULED_TAG = "scheduled"


def next_slot(frequency, hour, weekday, after):
    """The first time strictly after `after` at `hour`:00 UTC (weekly: on `weekday`)."""
    after = after.astimezone(datetime.UTC)
    slot = after.replace(hour=hour, minute=0, second=0, microsecond=0)
    if frequency == ScheduleFrequency.WEEKLY:
        slot += datetime.timedelta(days=(weekday - slot.weekday()) % 7)
    step = datetime.timedelta(days=7 if frequency == ScheduleFrequency.WEEKLY else 1)
    while slot <= after:
        slot += step
    return slot


def _whole(errors, field, value, high):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        errors[field] = _("A whole number from 0 to %(high)d.") % {"high": high}


def set_schedule(vm, *, frequency, hour, weekday=None, keep_daily, keep_weekly, repository=None, actor=None):
    """Give `vm` its backup schedule (replacing the one it had). Returns the BackupSchedule."""
    services.check_actor(vm, actor)
    errors = {}
    if frequency not in ScheduleFrequency.values:
        errors["frequency"] = _("One of: %(values)s.") % {"values": ", ".join(ScheduleFrequency.values)}
    _whole(errors, "hour", hour, 23)
    weekday = 6 if weekday is None else weekday
    _whole(errors, "weekday", weekday, 6)
    _whole(errors, "keep_daily", keep_daily, KEEP_DAILY_MAX)
    _whole(errors, "keep_weekly", keep_weekly, KEEP_WEEKLY_MAX)
    if "keep_daily" not in errors and "keep_weekly" not in errors and keep_daily == keep_weekly == 0:
        errors["keep_daily"] = _("Keep at least one daily or one weekly backup.")
    if repository not in (None, ""):
        try:
            repository = services.pick_repository(repository)
        except ValidationError as e:
            errors.update(e.error_dict)
    else:
        repository = None
    if errors:
        raise ValidationError(errors)
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM is backed up or restored.")})
    fields = {
        "frequency": frequency, "hour": hour, "weekday": weekday, "keep_daily": keep_daily,
        "keep_weekly": keep_weekly, "repository": repository, "retry_at": None,
        "next_run_at": next_slot(frequency, hour, weekday, timezone.now()),
    }  # fmt: skip
    schedule, _made = BackupSchedule.objects.update_or_create(vm=vm, defaults=fields)
    return schedule


def from_plan(vm):
    """A new VM of a plan with a backup schedule gets it as its own (apps.vms.create calls
    this in the order's transaction; docs/backups.md, "Schedules per plan"). Setting the
    VM's own schedule replaces it; removing it stops it."""
    plan = vm.plan
    if plan is None or not plan.backup_frequency:
        return None
    return BackupSchedule.objects.create(
        vm=vm, frequency=plan.backup_frequency, hour=plan.backup_hour, weekday=plan.backup_weekday,
        keep_daily=plan.backup_keep_daily, keep_weekly=plan.backup_keep_weekly,
        next_run_at=next_slot(plan.backup_frequency, plan.backup_hour, plan.backup_weekday, timezone.now()),
    )  # fmt: skip


def remove_schedule(vm, *, actor=None):
    """Stop `vm`'s scheduled backups (the backups taken stay). Http404 when it has none."""
    services.check_actor(vm, actor)
    deleted, _rows = BackupSchedule.objects.filter(vm=vm).delete()
    if not deleted:
        raise Http404(_("This VM has no backup schedule."))


def dispatch(now=None):
    """Start the backups whose time has come (see the module's doc). Returns how many started."""
    now = now or timezone.now()
    started = 0
    due = BackupSchedule.objects.filter(Q(next_run_at__lte=now) | Q(retry_at__lte=now)).select_related("vm__owner")
    for schedule in due.order_by("pk"):
        retry = schedule.retry_at is not None and schedule.retry_at <= now
        fields = {"last_run_at": now, "retry_at": None}
        if schedule.next_run_at <= now:
            fields["next_run_at"] = next_slot(schedule.frequency, schedule.hour, schedule.weekday, now)
        claimed = BackupSchedule.objects.filter(
            pk=schedule.pk, next_run_at=schedule.next_run_at, retry_at=schedule.retry_at
        ).update(**fields)
        if not claimed:
            continue  # another reconciler took it
        if schedule.vm.status == VmStatus.CREATING:
            continue  # a new VM (its plan's schedule) still being deployed: from its next slot on
        attempt = 2 if retry else 1
        try:
            services.create_backup(
                schedule.vm, repository=schedule.repository_id, scheduled=True, params={"attempt": attempt}
            )
            started += 1
        except ValidationError as e:
            failed(schedule.vm_id, " ".join(e.messages), attempt, now)
        except TargetBusy as e:
            failed(schedule.vm_id, f"the VM was busy with another job ({e.job.kind})", attempt, now)
    return started


def failed(vm_id, reason, attempt, now=None):
    """A scheduled backup of VM `vm_id` failed: try once more later, or keep the failure."""
    now = now or timezone.now()
    if attempt < 2:
        BackupSchedule.objects.filter(vm_id=vm_id).update(retry_at=now + RETRY_AFTER)
    else:
        BackupSchedule.objects.filter(vm_id=vm_id).update(last_failure_at=now, last_failure_reason=reason[:2000])


def succeeded(vm_id):
    BackupSchedule.objects.filter(vm_id=vm_id).update(last_failure_at=None, last_failure_reason="", retry_at=None)


def apply_retention(ctx, vm, repository):
    """Forget and prune the VM's scheduled backups in `repository` that its schedule does not
    keep; their rows go. Returns how many were forgotten."""
    schedule = BackupSchedule.objects.filter(vm=vm).first()
    if schedule is None:
        ctx.note("the VM has no schedule any more: nothing forgotten")
        return 0
    tags = f"vm:{vm.pk},{SCHEDULED_TAG}"
    restic.unlock(repository)
    restic.forget_by_policy(repository, tags, keep_daily=schedule.keep_daily, keep_weekly=schedule.keep_weekly)
    kept = set(restic.snapshot_ids(repository, tags))
    with transaction.atomic():
        gone = Backup.objects.filter(vm=vm, repository=repository, scheduled=True, state=BackupState.READY).exclude(
            restic_snapshot_id__in=kept
        )
        count = gone.count()
        gone.delete()
    ctx.note(
        f"kept {len(kept)} scheduled backup(s) (the newest of {schedule.keep_daily} day(s) and "
        f"{schedule.keep_weekly} week(s)), forgot {count}"
    )
    return count
