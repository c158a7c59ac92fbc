"""Finding jobs whose worker died (SIGKILL, OOM, a machine restart, a job timeout) and
settling them: failed with the step it died in, the operation's clean-up run, the target
left in a definite state. Runs when the workers start and every minute after; then the
housekeeping the apps registered (apps.jobs.registry.register_housekeeping), e.g. the
clean-ups failed operations still owe to hosts that are back. A worker busy with a job
settles other workers' orphaned jobs too (heartbeat.beating): the scheduled run is a queued
task, which waits while every worker is busy."""

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.db.models import DurationField, ExpressionWrapper, F
from django.db.models.functions import Now

from apps.jobs import registry
from apps.jobs.heartbeat import machine
from apps.jobs.models import Job, JobStatus, StepStatus, Worker
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


def orphaned_jobs():
    """The running jobs whose worker is gone, each with what showed it: a process of this
    machine that no longer runs, or a worker elsewhere whose heartbeat (heartbeat.py) has
    been silent for VMM_WORKER_SILENT_SECONDS. A job whose worker has no heartbeat row (a
    worker from before heartbeats) is orphaned past the job time limit, when django-q2 has
    stopped its worker. Silence and the time limit are measured by the database's clock, the
    one the beats are stamped with: this machine's clock does not enter into it."""
    jobs = list(Job.objects.filter(status=JobStatus.RUNNING).exclude(worker=""))
    if not jobs:
        return []
    here = machine()
    # How long each worker has been silent, by the database's clock.
    silent_for = ExpressionWrapper(Now() - F("beat_at"), output_field=DurationField())
    beats = dict(
        Worker.objects.filter(name__in={job.worker for job in jobs})
        .annotate(silent_for=silent_for)
        .values_list("name", "silent_for")
    )
    limit = timedelta(seconds=settings.VMM_WORKER_SILENT_SECONDS)
    overdue = set(
        Job.objects.filter(
            pk__in=[job.pk for job in jobs if job.worker not in beats],
            started_at__lt=Now() - timedelta(seconds=settings.JOB_TIMEOUT + 60),
        ).values_list("pk", flat=True)
    )
    found = []
    for job in jobs:
        where, _, pid = job.worker.rpartition(":")
        if where == here and pid.isdigit():
            if int(pid) != os.getpid() and not _alive(int(pid)):
                found.append((job, ""))
        elif job.worker in beats:
            if beats[job.worker] <= limit:
                continue
            seconds = int(beats[job.worker].total_seconds())
            found.append((job, f" (its worker {job.worker} has not been heard from for {seconds} s)"))
        elif job.pk in overdue:
            found.append((job, " (past the job time limit)"))
    return found


def settle_orphans():
    """Settle the running jobs whose worker is gone. Returns how many this call settled
    (another reconciler may settle one first: each job is settled once)."""
    settled = 0
    for job, how in orphaned_jobs():
        step = job.steps.filter(status=StepStatus.RUNNING).order_by("position").first()
        where = f" during “{step.name}”" if step else ""
        why = f"The worker running this job stopped unexpectedly{where}; the job did not finish{how}."
        if settle_dead_job(job, why):
            settled += 1
    if settled:
        logger.warning("settled %d job(s) whose worker had died", settled)
    return settled


def reconcile(housekeeping=True):
    """Settle every running job whose worker is gone, forget workers silent for a day that
    run nothing, then (unless `housekeeping` is False) run the registered housekeeping.
    Returns how many jobs were settled."""
    settled = settle_orphans()
    running = Job.objects.filter(status=JobStatus.RUNNING).values("worker")
    Worker.objects.filter(beat_at__lt=Now() - timedelta(days=1)).exclude(name__in=running).delete()
    for task in registry.housekeeping() if housekeeping else ():
        try:
            task()
        except Exception:  # noqa: BLE001 - one app's trouble must not stop the reconciler
            logger.exception("housekeeping %s failed", getattr(task, "__name__", task))
    return settled
