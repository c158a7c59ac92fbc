from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "apps.notices"
    verbose_name = "E-mail notices"

    def ready(self):
        from apps.notices import receivers

        receivers.connect()
