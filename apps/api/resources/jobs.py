"""/api/v1/jobs/: jobs with their steps, read-only, scoped to the targets' owners.

Parameters that carry secrets (password hashes) are never shown."""

from django.db.models import Prefetch
from rest_framework import mixins, serializers

from apps.api.base import ApiViewSet
from apps.jobs.filtersets import JobFilterSet
from apps.jobs.models import Job, JobStep
from apps.jobs.selectors import visible_jobs

SECRET_WORDS = ("password", "hash", "secret", "token")


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobStep
        fields = ["position", "name", "status", "started_at", "finished_at", "detail"]


class JobSerializer(serializers.ModelSerializer):
    target_type = serializers.SerializerMethodField()
    params = serializers.SerializerMethodField()
    steps = StepSerializer(many=True, read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "kind", "target_type", "target_id", "target_repr", "owner", "actor", "request_id", "params",
            "result", "status", "error", "created_at", "started_at", "finished_at", "steps",
        ]  # fmt: skip
        read_only_fields = fields

    def get_target_type(self, job) -> str | None:
        return f"{job.target_type.app_label}.{job.target_type.model}" if job.target_type_id else None

    def get_params(self, job) -> dict:
        return {key: value for key, value in job.params.items() if not any(w in key for w in SECRET_WORDS)}


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = JobSerializer
    filterset_class = JobFilterSet
    search_fields = ["target_repr", "kind"]
    ordering_fields = ["created_at"]
    ordering = "-created_at"

    queryset = Job.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        steps = Prefetch("steps", queryset=JobStep.objects.order_by("position"))
        return visible_jobs(self.request.user).select_related("target_type").prefetch_related(steps)
