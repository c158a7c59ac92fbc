"""A real django-q2 worker cluster (`manage.py qcluster`) for the tests that kill a worker
mid-job with SIGKILL, and `manage.py reconcile_jobs` as `make run` runs it before starting
the workers again (tests/deploy/test_worker_killed.py, tests/backups/test_worker_killed_real.py).
The caller sets django_q's `Conf.SYNC` to False so that jobs go through the real broker."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from apps.jobs.models import Job, JobStatus, StepStatus

ROOT = Path(__file__).resolve().parents[1]


def worker_env(tmp_path):
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vmmanager.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "VMM_DATA_DIR": str(tmp_path / "worker-data"),
        "VMM_WORK_DIR": str(settings.VMM_WORK_DIR),
        "VMM_RESTIC_CACHE_DIR": str(settings.VMM_RESTIC_CACHE_DIR),
        "VMM_WORKERS": "1",
    }


@contextmanager
def cluster(env, log_path):
    """A running worker cluster, stopped (TERM, then KILL) on the way out."""
    log = open(log_path, "w+")
    process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_for_step(job, name, process, seconds=300, until=None):
    """The job once its step `name` runs (and `until()` is true, when given)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the worker cluster died on its own"
        if job.steps.filter(name=name, status=StepStatus.RUNNING).exists() and (until is None or until()):
            return Job.objects.get(pk=job.pk)
        # Steps first: the runner plans them only after it has marked the job running, so
        # read in this order a job with steps can only be running (or past it: a failure).
        planned = job.steps.exists()
        assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING or not planned
        time.sleep(0.02)
    raise AssertionError(f"step {name!r} never started")


def kill_worker_of(job):
    os.kill(int(job.worker.rpartition(":")[2]), signal.SIGKILL)


def reconcile(env):
    """`manage.py reconcile_jobs`; asserts that it settled one job."""
    settle = subprocess.run(
        [sys.executable, "manage.py", "reconcile_jobs"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert settle.returncode == 0, settle.stderr
    assert "1 settled" in settle.stdout, settle.stdout
