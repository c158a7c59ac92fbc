from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "apps.live"
    verbose_name = "Live updates (websockets)"

    def ready(self):
        # Connect the receivers: the lower apps' signals become events for open pages.
        from apps.live import blocking, receivers  # noqa: F401
