"""Move a stopped VM to another host (apps/vms/migration.py decided it may; the work and
its steps: apps/vms/migrate_work.py, docs/migration.md). A failure leaves the VM on its
host as it was, and nothing of it on the target (or its removal owed to the target)."""

from apps.hosts.models import Host
from apps.vms import migrate_work

STEPS = migrate_work.STEPS


def run(ctx, vm, target_host_id, target_pinned=False):
    migrate_work.move(ctx, vm, Host.objects.get(pk=target_host_id), ctx.step)


def on_failure(ctx, vm):
    migrate_work.undo(ctx, vm, Host.objects.get(pk=ctx.params["target_host_id"]))
