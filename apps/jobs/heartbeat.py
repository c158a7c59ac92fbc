"""Which worker runs a job, and its heartbeat while it does.

A job running records its worker as "<machine>:<pid>". The machine is the host name plus the
process's PID namespace: two containers may share a host name (`--uts=host`) but never a PID
namespace, so a process id is only ever looked up where it means the same process.

While a job runs, a thread of its worker sets the job's `heartbeat_at` every
VMM_WORKER_HEARTBEAT_SECONDS. The reconciler (reconcile.py) asks the process table about a
worker on its own machine, and the heartbeat about a worker elsewhere: a job whose worker has
been silent for VMM_WORKER_SILENT_SECONDS is orphaned (the container was removed, the machine
was lost), found by the next reconciliation rather than after the job time limit.
"""

import logging
import os
import socket
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger("vmmanager.jobs")


def machine():
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # no /proc (not Linux): the host name alone
        return socket.gethostname()
    return f"{socket.gethostname()}~{namespace}"


def worker_id():
    return f"{machine()}:{os.getpid()}"


@contextmanager
def beating(job_id, worker):
    """Beat on job `job_id` (while it is running under `worker`) until the block ends."""
    from apps.jobs.models import Job, JobStatus

    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(settings.VMM_WORKER_HEARTBEAT_SECONDS):
                try:
                    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, worker=worker).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                    logger.warning("job %s: heartbeat not recorded", job_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
