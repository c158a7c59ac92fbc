"""What every API view shares: tenancy-scoped querysets, the audit actor, 202 answers."""

from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.reverse import reverse

from apps.core import audit


class ApiViewMixin:
    """Binds the authenticated user as the audit log's actor for the request."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        audit.bind_actor(request.user)

    @property
    def request_id(self):
        return getattr(self.request._request, "request_id", None)


class ApiViewSet(ApiViewMixin, viewsets.GenericViewSet):
    pass


def job_link(request, job):
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "status": job.status,
        "url": reverse("api:job-detail", args=[job.pk], request=request),
    }


class JobLinkSerializer(serializers.Serializer):
    """The schema of job_link()."""

    id = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.CharField()
    url = serializers.URLField()


class JobStartedSerializer(serializers.Serializer):
    """The schema of accepted() with no other body: 202 naming the job."""

    job = JobLinkSerializer()


def accepted(request, job, **body):
    """202 Accepted naming the job that does the work (Location: the job's URL)."""
    link = job_link(request, job)
    return Response({**body, "job": link}, status=status.HTTP_202_ACCEPTED, headers={"Location": link["url"]})
