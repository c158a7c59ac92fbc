from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    verbose_name = "Core"

    def ready(self):
        from apps.core import audit, signals  # noqa: F401  (signals: connects the receivers)

        audit.register_models()
