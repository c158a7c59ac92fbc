from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "apps.images"
    verbose_name = "OS images"

    def ready(self):
        from apps.jobs import registry

        registry.register_operations(f"{self.name}.operations")
