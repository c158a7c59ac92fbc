"""API tokens: named and revocable, stored only as the SHA-256 of a secret shown once.

`ApiToken.objects.issue(user, name)` returns (token, raw); only `raw` authenticates and it is
never stored. A read-only token refuses unsafe methods (apps.api.permissions). Revoking a
token deletes its row: the next request with it is 401.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

PREFIX = "vmm_"
# last_used_at is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(seconds=60)


def hash_token(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenManager(models.Manager):
    def issue(self, user, name, *, read_only=False):
        """Create a token; returns (token, raw secret). The secret cannot be shown again."""
        raw = PREFIX + secrets.token_urlsafe(32)
        token = self.create(user=user, name=name, read_only=read_only, key_hash=hash_token(raw), prefix=raw[:12])
        return token, raw

    def for_secret(self, raw):
        """The token (with its user and the user's reseller) for `raw`, or None."""
        if not raw or len(raw) > 200:
            return None
        return self.select_related("user", "user__reseller").filter(key_hash=hash_token(raw)).first()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=16, help_text="The secret's first characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(default=False, help_text="Refuses every method but GET, HEAD and OPTIONS.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenManager()

    class Meta:
        verbose_name = "API token"
        ordering = ["user", "name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="api_token_name_unique_per_user")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def touch(self):
        """Record a use; one conditional UPDATE per TOUCH_EVERY at most."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= TOUCH_EVERY:
            ApiToken.objects.filter(pk=self.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
            ).update(last_used_at=now)
            self.last_used_at = now
