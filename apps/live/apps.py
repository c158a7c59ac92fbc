from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "apps.live"
    verbose_name = "Live updates (websockets)"

    def ready(self):
        from apps.live import blocking  # noqa: F401  (connects the receivers)
