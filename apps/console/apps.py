from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "apps.console"
    verbose_name = "Live updates (websockets)"

    def ready(self):
        from apps.console import blocking  # noqa: F401  (connects the receivers)
