"""The job runner owns a job's whole life: claim, steps, errors, state re-read, release.

`submit()` is called by services in the web process (or the console); `execute()` runs
in a django-q2 worker. Operations only do the work (see registry.py). Every change to a
job, a step or a target's claim is announced with a signal (signals.py); the runner does
not know who listens (apps/live pushes them to open pages).
"""

import logging
import time
import traceback
from contextlib import contextmanager

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.request_id import get_request_id, new_request_id, request_id_context
from apps.jobs import registry, signals
from apps.jobs.heartbeat import beat, beating, worker_id
from apps.jobs.models import Job, JobStatus, JobStep, StepStatus
from apps.virt import outage
from apps.virt.errors import VirtError

logger = logging.getLogger("vmmanager.jobs")


class TargetBusy(Exception):
    """The target already runs an operation; `job` is the one running."""

    def __init__(self, job):
        self.job = job
        super().__init__(f"{job.target_repr} is busy with {job.kind} (job {job.id})")


def reason(exc):
    """A message a user can read for an operation's failure."""
    if isinstance(exc, VirtError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    if isinstance(exc, OperationError):
        return str(exc)
    return f"Internal error ({type(exc).__name__}): {exc}"


class OperationError(Exception):
    """Raised by operations for an expected failure with a readable message."""


def submit(kind, target, *, actor=None, params=None, request_id=None, queue=True):
    """Create a job running `kind` on `target` and queue it once the transaction commits.

    Claims the target (one operation at a time) with a conditional UPDATE.
    Returns the Job. Raises TargetBusy if another job holds the target and
    registry.UnknownOperation for an unknown kind.
    """
    registry.load(kind)
    request_id = request_id or (get_request_id() if get_request_id() != "-" else new_request_id())
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            target_type=ContentType.objects.get_for_model(target),
            target_id=target.pk,
            target_repr=str(target)[:200],
            owner=getattr(target, "owner", None),
            actor=actor,
            request_id=request_id,
            params=params or {},
        )
        if hasattr(type(target), "current_job"):
            claimed = type(target).objects.filter(pk=target.pk, current_job__isnull=True).update(current_job=job)
            if claimed != 1:
                holder = type(target).objects.filter(pk=target.pk).values_list("current_job", flat=True).first()
                busy = Job.objects.filter(pk=holder).first()
                raise TargetBusy(busy or job)
            target.current_job = job
            signals.claim_changed.send(sender=type(target), target=target)
        if queue:
            transaction.on_commit(lambda: enqueue(job))
    with request_id_context(request_id):
        logger.info("job %s queued: %s on %s", job.id, kind, job.target_repr)
    return job


def enqueue(job, sync=None):
    """Hand the job to the workers (django-q2). `sync` overrides the cluster's sync mode."""
    from django_q.tasks import async_task

    options = {} if sync is None else {"sync": sync}
    async_task("apps.jobs.tasks.run_job", str(job.id), task_name=f"{job.kind}-{job.id}", **options)


class JobContext:
    """What an operation gets: its job, its params and `step()` to record progress."""

    def __init__(self, job, module):
        self.job = job
        self.params = job.params
        self.module = module
        self.logger = logging.getLogger(f"vmmanager.operations.{job.kind}")
        self._current = None

    @contextmanager
    def step(self, name):
        """Record a step: running on enter, succeeded on exit, failed (with the reason)
        if the block raises. Re-raises the exception."""
        step = self.job.steps.filter(name=name, status=StepStatus.PENDING).order_by("position").first()
        if step is None:
            last = self.job.steps.order_by("-position").values_list("position", flat=True).first() or 0
            step = JobStep(job=self.job, position=last + 1, name=name)
        step.status = StepStatus.RUNNING
        step.started_at = timezone.now()
        step.save()
        _step_changed(self.job, step)
        self.logger.info("step %d started: %s", step.position, name)
        self._current = step
        began = time.monotonic()
        try:
            yield step
        except BaseException as exc:
            step.status = StepStatus.FAILED
            step.detail = _join(step.detail, reason(exc))
            raise
        else:
            step.status = StepStatus.SUCCEEDED
        finally:
            step.finished_at = timezone.now()
            step.save()
            _step_changed(self.job, step)
            self.logger.info("step %d %s: %s (%.2fs)", step.position, step.status, name, time.monotonic() - began)
            self._current = None

    def note(self, text):
        """Add a line of detail to the running step (shown to the user)."""
        if self._current is not None:
            self._current.detail = _join(self._current.detail, text)
            self._current.save(update_fields=["detail"])
            _step_changed(self.job, self._current)


def _job_changed(job):
    signals.job_changed.send(sender=Job, job=job)


def _step_changed(job, step):
    signals.step_changed.send(sender=Job, job=job, step=step)


def _join(old, new):
    return f"{old}\n{new}" if old else new


def execute(job_id, meanwhile=None):
    """Run a queued job to its end. A job that is not queued (already run, or taken by a
    duplicate delivery) is left alone. Never raises for the operation's own failure.
    `meanwhile`: what the worker does aside while the job runs (heartbeat.beating)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("job %s does not exist", job_id)
        return None
    with request_id_context(job.request_id):
        worker = worker_id()
        # The beat comes first: a job must never be running under a worker whose last beat
        # (from an earlier job of this process, perhaps long ago) looks silent.
        beat(worker)
        if (
            Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
                status=JobStatus.RUNNING, started_at=timezone.now(), worker=worker
            )
            != 1
        ):
            logger.warning("job %s is not queued (%s): not run again", job.pk, job.status)
            return job
        job.refresh_from_db()
        _job_changed(job)
        with beating(worker, meanwhile):
            _run(job)
        return job


def _load_target(job):
    """The target, fetched on its own (not cached on the job: an operation may delete it)."""
    if job.target_type is None:
        return None
    return job.target_type.model_class().objects.filter(pk=job.target_id).first()


def _run(job):
    target = _load_target(job)
    try:
        module = registry.load(job.kind)
        _plan_steps(job, module)
        _job_changed(job)  # pages learn the planned steps without asking again
        if target is None:
            raise OperationError(f"The target ({job.target_repr}) no longer exists.")
        logger.info("job %s running: %s on %s", job.pk, job.kind, job.target_repr)
        ctx = JobContext(job, module)
        # Driver calls that wait out a lost host say so in the running step's detail.
        with outage.reporting_to(ctx.note):
            module.run(ctx, target, **job.params)
        job.status = JobStatus.SUCCEEDED
    except Exception as exc:
        job.status = JobStatus.FAILED
        job.error = reason(exc)
        logger.error("job %s failed: %s\n%s", job.pk, job.error, traceback.format_exc())
        _clean_up_after_failure(job, target)
    finally:
        _refresh_target(job)
        _release(job)
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at", "result"])
        job.steps.filter(status=StepStatus.PENDING).update(status=StepStatus.SKIPPED)
        _job_changed(job)
        logger.info("job %s %s in %.2fs", job.pk, job.status, (job.finished_at - job.started_at).total_seconds())


def settle_dead_job(job, why):
    """Finish a job whose worker died mid-way: the running step and the job fail with `why`,
    the operation's clean-up runs, the target's state is re-read and its claim released.
    Does nothing if the job is no longer running under the same worker (it moved on)."""
    with request_id_context(job.request_id):
        if (
            Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, worker=job.worker).update(
                status=JobStatus.FAILED, error=why, finished_at=timezone.now()
            )
            != 1
        ):
            return False
        job.refresh_from_db()
        for step in job.steps.filter(status=StepStatus.RUNNING):
            step.status = StepStatus.FAILED
            step.finished_at = job.finished_at
            step.detail = _join(step.detail, why)
            step.save()
            _step_changed(job, step)
        logger.error("job %s settled: %s", job.pk, why)
        _clean_up_after_failure(job, _load_target(job))
        _refresh_target(job)
        _release(job)
        job.steps.filter(status=StepStatus.PENDING).update(status=StepStatus.SKIPPED)
        _job_changed(job)
        return True


def _clean_up_after_failure(job, target):
    """Run the operation's `on_failure(ctx, target)`: the override's if it has one, else
    the built-in one, so an override cannot skip the clean-up. Its own errors are logged."""
    if target is None:
        return
    hook = registry.failure_hook(job.kind)
    if hook is None:
        return
    try:
        hook(JobContext(job, None), target)
    except Exception:
        logger.error("job %s: clean-up after failure failed\n%s", job.pk, traceback.format_exc())


def _plan_steps(job, module):
    if job.steps.exists():
        return
    names = getattr(module, "STEPS", ())
    JobStep.objects.bulk_create(JobStep(job=job, position=i, name=name) for i, name in enumerate(names, start=1))


def _refresh_target(job):
    model = job.target_type.model_class() if job.target_type else None
    refresh = registry.state_refresher(model) if model else None
    target = model.objects.filter(pk=job.target_id).first() if refresh else None
    if target is None:
        return
    try:
        refresh(target)
    except Exception:
        logger.warning("could not re-read the state of %s after job %s", job.target_repr, job.pk, exc_info=True)


def _release(job):
    model = job.target_type.model_class() if job.target_type else None
    if model is not None and hasattr(model, "current_job"):
        model.objects.filter(pk=job.target_id, current_job=job).update(current_job=None)
        target = model.objects.filter(pk=job.target_id).first()
        if target is not None:
            signals.claim_changed.send(sender=model, target=target)


def run_inline(kind, target, *, actor=None, params=None):
    """Submit and run a job in this process (console commands): returns the finished Job."""
    request_id = get_request_id() if get_request_id() != "-" else new_request_id()
    with request_id_context(request_id):
        job = submit(kind, target, actor=actor, params=params, queue=False)
        return execute(job.pk)
