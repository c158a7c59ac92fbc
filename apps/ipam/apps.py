from django.apps import AppConfig


class IpamConfig(AppConfig):
    name = "apps.ipam"
    verbose_name = "Public addresses"
