from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "apps.backups"
    verbose_name = "Backups"

    def ready(self):
        from apps.jobs import registry

        registry.register_operations(f"{self.name}.operations")

        from apps.accounts.quotas import register_owned
        from apps.backups.models import Backup

        register_owned("backups", Backup.objects.all)  # max_backups (docs/backups.md)
