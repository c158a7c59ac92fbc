"""A VM's scheduled backup (docs/backups.md, "Schedules and retention"): the steps of
`vm_backup_create`, then the schedule's retention over the VM's scheduled backups (restic
forget and prune). A failure is handed to apps.backups.schedules, which tries once more
later and then keeps it as the schedule's last failure; a success clears it."""

from apps.backups import schedules
from apps.backups.models import Backup
from apps.backups.operations import vm_backup_create as create

STEPS = [*create.STEPS, "Apply the retention"]


def run(ctx, vm, backup_id, attempt=1):
    create.run(ctx, vm, backup_id)
    with ctx.step("Apply the retention"):
        backup = Backup.objects.select_related("repository").get(pk=backup_id)
        schedules.apply_retention(ctx, vm, backup.repository)
    schedules.succeeded(vm.pk)


def on_failure(ctx, vm):
    create.on_failure(ctx, vm)
    schedules.failed(vm.pk, ctx.job.error or "failed", ctx.params.get("attempt", 1))
