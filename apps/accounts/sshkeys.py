"""Users' saved SSH public keys, offered when ordering or reinstalling a VM."""

import base64
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.accounts.ssh_key_format import validate_ssh_key


def fingerprint(public_key):
    """OpenSSH's SHA256 fingerprint of a (valid) public key line."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class SshKey(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ssh_keys")
    name = models.CharField(max_length=64)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SSH key"
        ordering = ["owner", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="ssh_key_name_unique_per_owner"),
            models.UniqueConstraint(fields=["owner", "fingerprint"], name="ssh_key_unique_per_owner"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        self.public_key = (self.public_key or "").strip()
        try:
            validate_ssh_key(self.public_key)
        except ValidationError as exc:
            raise ValidationError({"public_key": exc.messages}) from exc
        self.fingerprint = fingerprint(self.public_key)
