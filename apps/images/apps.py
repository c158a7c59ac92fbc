from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "apps.images"
    verbose_name = "OS images"
