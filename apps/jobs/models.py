import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", pgettext_lazy("job status", "Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", pgettext_lazy("job status", "Failed")


class StepStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", pgettext_lazy("job status", "Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", pgettext_lazy("job status", "Failed")
    SKIPPED = "skipped", _("Skipped")


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


class Job(models.Model):
    """One long action (an operation) on one target, run by a worker, step by step."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField("operation", max_length=64, db_index=True)
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    # Kept when the target is deleted, so the history still reads.
    target_repr = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_jobs",
        help_text="Owner of the target: who may see this job besides staff.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="started_jobs"
    )
    request_id = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    # "<machine>:<pid>" of the worker process running the job (its Worker row says when it
    # last beat): how the reconciler tells a job whose worker died from one that is still
    # being worked on (apps/jobs/reconcile.py).
    worker = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="job_target_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="job_status_valid"),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(error=""), name="job_failed_has_error"),
        ]

    def __str__(self):
        return f"{self.kind} {self.target_repr}".strip()

    @property
    def is_finished(self):
        return self.status in FINISHED

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class Worker(models.Model):
    """A job worker process and its heartbeat (apps/jobs/heartbeat.py): where it runs and
    when it last said it was alive, by the database's clock. A worker beats before it takes a
    job and every VMM_WORKER_HEARTBEAT_SECONDS while it runs one; the reconciler settles the
    running jobs of a worker silent for VMM_WORKER_SILENT_SECONDS."""

    # "<machine>:<pid>", as in Job.worker.
    name = models.CharField(max_length=128, unique=True)
    # Host name (a container's name) and PID namespace: where `pid` means this process.
    machine = models.CharField(max_length=120)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self):
        return self.name


class JobStep(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="job_step_position_unique"),
            models.CheckConstraint(condition=Q(status__in=StepStatus.values), name="job_step_status_valid"),
        ]

    def __str__(self):
        return f"{self.position}. {self.name}"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None
