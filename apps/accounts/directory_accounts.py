"""Which accounts the staff directory made (apps.accounts.directory): only those follow it.

An account the panel made itself (locally, through the API, with or without a password)
is never taken over by a directory user of the same name."""

from django.conf import settings
from django.db import models


class DirectoryAccount(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_account")
    dn = models.CharField("directory DN", max_length=512)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "directory account"

    def __str__(self):
        return self.dn
