"""Which worker runs a job, and its heartbeat while it does.

A job running records its worker as "<machine>:<pid>". The machine is the host name plus the
process's PID namespace and when that namespace's first process started (machine() below):
two containers may share a host name (`--uts=host`, host networking) but never a PID namespace
at the same time, so a process id is only ever looked up where it means the same process.

Every worker process has a row (models.Worker) with its last beat. It beats before it takes a
job, then a thread of it beats every VMM_WORKER_HEARTBEAT_SECONDS until the job ends. A beat
is stamped by the database's clock (never the worker's), and the reconciler (reconcile.py)
compares it with the same clock, so machines whose clocks disagree neither settle a job that
is still running nor keep one whose worker is gone. The reconciler asks the process table
about a worker on its own machine, and the heartbeat about a worker elsewhere: the running
jobs of a worker silent for VMM_WORKER_SILENT_SECONDS are orphaned (the container was
removed, the machine was lost), found by the next reconciliation rather than after the job
time limit. While a worker runs a job it also looks for such jobs every
VMM_BUSY_RECONCILE_SECONDS and settles them in a thread of its own: the scheduled
reconciliation is a queued task, and waits while every worker is busy with a long job. The
settling is handed in (`beating(worker, meanwhile=...)`, by the workers' entry point,
tasks.py): the reconciler settles jobs through the runner, which beats through this module.
"""

import functools
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now

logger = logging.getLogger("vmmanager.jobs")


@functools.cache
def machine():
    """Where a process id means this process: the host name, the PID namespace and when this
    boot's first process of that namespace started. The namespace's number alone is not
    enough: it is reused once the namespace is gone, so a worker container replaced by
    another (same host name with host networking) would get its predecessor's number, and
    its processes the same ids, and a dead worker would look alive."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # no /proc (not Linux): the host name alone
        return socket.gethostname()
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot = handle.read().strip()[:8]
        with open("/proc/1/stat") as handle:
            first_started = handle.read().rsplit(")", 1)[1].split()[19]  # field 22, clock ticks since boot
    except (OSError, IndexError):  # /proc mounted with hidepid
        return f"{socket.gethostname()}~{namespace}"
    return f"{socket.gethostname()}~{namespace}~{boot}.{first_started}"


def worker_id():
    return f"{machine()}:{os.getpid()}"


def beat(worker):
    """Record that `worker` ("<machine>:<pid>") is alive now, by the database's clock."""
    from apps.jobs.models import Worker

    if Worker.objects.filter(name=worker).update(beat_at=Now()):
        return
    where, _, pid = worker.rpartition(":")
    try:
        with transaction.atomic():
            Worker.objects.create(name=worker, machine=where, pid=int(pid), started_at=Now(), beat_at=Now())
    except IntegrityError:  # made by a beat of the same process in between
        Worker.objects.filter(name=worker).update(beat_at=Now())


@contextmanager
def beating(worker, meanwhile=None):
    """Beat for `worker` every VMM_WORKER_HEARTBEAT_SECONDS until the block ends; every
    VMM_BUSY_RECONCILE_SECONDS also run `meanwhile()` (if given) in a thread of its own, one
    at a time, joined before the block ends.

    Not while the job runs inside a transaction of its caller (a job run at the commit of a
    test's transaction): the beats go through the thread's own connection, and the first
    one would wait for that transaction to commit the worker's row, while the caller waits
    for the thread at the job's end. A worker of django-q2 runs no job in a transaction."""
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()
    settler = []  # the thread settling orphaned jobs, once one was started

    def run():
        look_at = time.monotonic() + settings.VMM_BUSY_RECONCILE_SECONDS
        try:
            while not stop.wait(settings.VMM_WORKER_HEARTBEAT_SECONDS):
                try:
                    beat(worker)
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                    logger.warning("worker %s: heartbeat not recorded", worker, exc_info=True)
                if meanwhile is None or time.monotonic() < look_at or (settler and settler[0].is_alive()):
                    continue
                look_at = time.monotonic() + settings.VMM_BUSY_RECONCILE_SECONDS
                settler[:] = [_aside(worker, meanwhile)]
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run, name="worker-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for each in settler:  # its clean-ups finish before the worker takes its next job
            each.join()


def _aside(worker, meanwhile):
    """`meanwhile()` in a thread of its own: settling dead workers' jobs runs operations'
    clean-ups, which may take a while (libvirt, a backup repository), and the beats must not
    wait for them."""

    def run():
        try:
            meanwhile()
        except Exception:  # noqa: BLE001 - the next look, or the scheduled run, tries again
            logger.warning("worker %s: %s failed", worker, getattr(meanwhile, "__name__", meanwhile), exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="worker-settle-orphans", daemon=True)
    thread.start()
    return thread
