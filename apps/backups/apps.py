from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "apps.backups"
    verbose_name = "Backups"

    def ready(self):
        from apps.jobs import registry

        registry.register_operations(f"{self.name}.operations")
