from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    verbose_name = "API"

    def ready(self):
        from apps.api import idempotency
        from apps.jobs import registry

        registry.register_housekeeping(idempotency.forget_old_keys)
