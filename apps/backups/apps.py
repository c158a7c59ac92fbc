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

        from apps.accounts.quotas import register_owned
        from apps.backups.models import Backup

        # max_backups (docs/backups.md): the backups of the owner's VMs. Kept backups of deleted
        # VMs are not counted while their owner has no page to delete them from.
        register_owned("backups", lambda: Backup.objects.filter(vm__isnull=False))
