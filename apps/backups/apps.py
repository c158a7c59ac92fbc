from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "apps.backups"
    verbose_name = "Backups"

    def ready(self):
        from apps.jobs import registry

        registry.register_operations(f"{self.name}.operations")

        from apps.backups import schedules

        registry.register_housekeeping(schedules.dispatch)  # scheduled backups (docs/backups.md)

        from apps.backups import checkpoints

        # the checkpoints failed backups left on hosts that did not answer then
        registry.register_housekeeping(checkpoints.remove_failed_checkpoints)

        from apps.backups import files

        registry.register_housekeeping(files.remove_expired)  # files taken out of backups, once expired

        from apps.accounts.quotas import register_owned, register_owned_bytes
        from apps.backups.models import Backup

        # max_backups (docs/backups.md): every backup the owner holds, of its VMs and the kept
        # backups of its deleted VMs (listed for it, deletable).
        register_owned("backups", lambda: Backup.objects.all())
        # max_backup_gb: what those backups added to their repositories (restic's data_added)
        register_owned_bytes("backup_gb", lambda: Backup.objects.all(), "added_bytes")

        from apps.backups import kept
        from apps.vms.create import register_order_hook
        from apps.vms.deletion import register_forget

        register_forget(kept.forget_vm_backups)  # a VM deleted without keeping its backups
        register_order_hook(schedules.from_plan)  # a new VM of a plan with a backup schedule
