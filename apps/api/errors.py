"""One error format for the whole API:

    {"errors": [{"field": "name" | null, "code": "invalid", "message": "..."}]}

`exception_handler` turns DRF's exceptions, Django's ValidationError (one entry per field
message), Http404, ProtectedError (409), TargetBusy (409, naming the running job) and an
unknown operation (400 "not_available") into it. Anything else is a bug and stays a 500."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import set_rollback

from apps.jobs.registry import UnknownOperation
from apps.jobs.runner import TargetBusy

NON_FIELD = {"non_field_errors", "__all__", None}


def entry(field, code, message, **extra):
    return {"field": None if field in NON_FIELD else field, "code": code or "invalid", "message": str(message), **extra}


def _join(field, key):
    if key in NON_FIELD:
        return field
    return str(key) if field is None else f"{field}.{key}"


def flatten(detail, field=None):
    """DRF error detail (nested dicts and lists of ErrorDetail) -> list of entries; nested
    fields are named with dots (`network.address`, `ssh_keys.1`)."""
    if isinstance(detail, dict):
        return [item for key, value in detail.items() for item in flatten(value, _join(field, key))]
    if isinstance(detail, list):
        return [
            item
            for index, value in enumerate(detail)
            for item in flatten(value, _join(field, index) if isinstance(value, dict | list) else field)
        ]
    return [entry(field, getattr(detail, "code", "invalid"), detail)]


def django_entries(exc):
    """A Django ValidationError -> entries, one per message, keyed by field when it has them."""
    if hasattr(exc, "error_dict"):
        return [
            entry(field, error.code, message)
            for field, errors in exc.error_dict.items()
            for error in errors
            for message in error.messages
        ]
    return [entry(None, error.code, message) for error in exc.error_list for message in error.messages]


def busy_response(exc, request):
    job = exc.job
    url = reverse("api:job-detail", args=[job.pk], request=request)
    message = f"{job.target_repr} is busy with {job.kind} (job {job.pk})."
    body = {"errors": [entry(None, "busy", message, job=str(job.pk), job_url=url)]}
    return Response(body, status=status.HTTP_409_CONFLICT)


def exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, TargetBusy):
        set_rollback()
        return busy_response(exc, request)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response({"errors": django_entries(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError | RestrictedError):
        set_rollback()
        names = sorted(
            {
                str(obj)
                for obj in list(exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects)[
                    :5
                ]
            }
        )
        message = "It is still in use by: " + ", ".join(names) + "."
        return Response({"errors": [entry(None, "protected", message)]}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, UnknownOperation):
        set_rollback()
        message = f"This operation is not available on this panel yet ({exc})."
        return Response({"errors": [entry(None, "not_available", message)]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)  # a service's reason, when it gives one
    if not isinstance(exc, exceptions.APIException):
        return None
    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten(exc.detail)
    else:
        errors = [entry(None, getattr(exc.detail, "code", exc.default_code), exc.detail)]
    return Response({"errors": errors}, status=exc.status_code, headers=headers)
