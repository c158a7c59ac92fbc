"""Finding jobs whose worker died (SIGKILL, OOM, a machine restart, a job timeout) and
settling them: failed with the step it died in, the operation's clean-up run, the target
left in a definite state. Runs when the workers start and every minute after; then the
housekeeping the apps registered (apps.jobs.registry.register_housekeeping), e.g. the
clean-ups failed operations still owe to hosts that are back."""

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.jobs import registry
from apps.jobs.heartbeat import machine
from apps.jobs.models import Job, JobStatus, StepStatus
from apps.jobs.runner import settle_dead_job

logger = logging.getLogger("vmmanager.jobs")


def _alive(pid):
    """True if `pid` is a live panel worker process on this machine."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
    except OSError:
        return False
    return b"manage.py" in cmdline or b"qcluster" in cmdline


def is_orphaned(job, now=None):
    """True when the worker running `job` is gone: a process of this machine that no longer
    runs, or a worker elsewhere silent for VMM_WORKER_SILENT_SECONDS (heartbeat.py). A job
    without a heartbeat (started by a worker from before heartbeats) is orphaned past the job
    time limit, when django-q2 has stopped its worker."""
    where, _, pid = job.worker.rpartition(":")
    if where == machine() and pid.isdigit():
        return int(pid) != os.getpid() and not _alive(int(pid))
    now = now or timezone.now()
    if job.heartbeat_at is not None:
        return now - job.heartbeat_at > timedelta(seconds=settings.VMM_WORKER_SILENT_SECONDS)
    return job.started_at is not None and now - job.started_at > timedelta(seconds=settings.JOB_TIMEOUT + 60)


def reconcile(housekeeping=True):
    """Settle every running job whose worker is gone, then (unless `housekeeping` is False)
    run the registered housekeeping. Returns how many jobs were settled."""
    settled = 0
    for job in Job.objects.filter(status=JobStatus.RUNNING).exclude(worker=""):
        if not is_orphaned(job):
            continue
        step = job.steps.filter(status=StepStatus.RUNNING).order_by("position").first()
        where = f" during “{step.name}”" if step else ""
        if settle_dead_job(job, f"The worker running this job stopped unexpectedly{where}; the job did not finish."):
            settled += 1
    if settled:
        logger.warning("settled %d job(s) whose worker had died", settled)
    for task in registry.housekeeping() if housekeeping else ():
        try:
            task()
        except Exception:  # noqa: BLE001 - one app's trouble must not stop the reconciler
            logger.exception("housekeeping %s failed", getattr(task, "__name__", task))
    return settled
