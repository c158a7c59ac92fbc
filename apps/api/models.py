"""What the API itself stores: responses kept for Idempotency-Key retries."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """The response to a creating call made with an Idempotency-Key, replayed on retries.

    Unique per (user, key, endpoint): a concurrent retry waits on the unique index until the
    first call commits, then replays its response (apps.api.idempotency)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key", "endpoint"], name="idempotency_key_unique"),
        ]

    def __str__(self):
        return f"{self.key} {self.endpoint}"
