from django.apps import AppConfig


class VmsConfig(AppConfig):
    name = "apps.vms"
    verbose_name = "Virtual machines"
