"""`Idempotency-Key` on creating calls: a retry gets the first call's response, not a second VM.

The key is stored with the user, the endpoint (path) and a hash of method + path + body in
the same transaction as the work. A concurrent retry blocks on the unique index until the
first call commits, then replays it. The same key with another body is 422. Only
successful responses are kept: a call that failed (4xx) can be retried with the same key.
Keys are remembered for `VMM_IDEMPOTENCY_KEY_HOURS`: `forget_old_keys` (the jobs
reconciler's housekeeping) deletes older records.
"""

import hashlib
import json
import re
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from apps.api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
_VALID = re.compile(r"^[\x21-\x7e]{1,255}\Z")


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request."


def forget_old_keys():
    """Delete the records of keys older than `VMM_IDEMPOTENCY_KEY_HOURS`; returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.VMM_IDEMPOTENCY_KEY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def request_hash(request):
    body = json.dumps(request.data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(method):
    """Decorate a viewset method that creates something (create, POST actions)."""

    @wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return method(view, request, *args, **kwargs)
        if not _VALID.match(key):
            raise ValidationError({HEADER: ["Use 1-255 printable ASCII characters."]}, code="invalid")
        fingerprint = request_hash(request)
        lookup = {"user": request.user, "key": key, "endpoint": request.path[:255]}
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(**lookup, request_hash=fingerprint)
            except IntegrityError:
                record = IdempotencyRecord.objects.select_for_update().get(**lookup)
                if record.request_hash != fingerprint:
                    raise KeyReused() from None
                return Response(record.body, status=record.status_code, headers={"Idempotent-Replayed": "true"})
            response = method(view, request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.body = response.data
            record.save(update_fields=["status_code", "body"])
            return response

    return wrapper
