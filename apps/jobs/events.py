"""Progress events for live views, sent through the channel layer after the database
commit they describe. A lost event never fails a job: the database is the record."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger("vmmanager.jobs")


def job_group(job_id):
    return f"job-{job_id}"


def job_snapshot(job):
    return {
        "id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "error": job.error,
        "target": job.target_repr,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def step_snapshot(step):
    return {
        "position": step.position,
        "name": step.name,
        "status": step.status,
        "detail": step.detail,
        "started_at": step.started_at.isoformat() if step.started_at else None,
        "finished_at": step.finished_at.isoformat() if step.finished_at else None,
    }


def _send(group, message):
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.warning("could not publish %s to %s", message.get("type"), group, exc_info=True)


# In-process listeners (the console's live output): called with (job, step) at once.
_listeners = []


def add_listener(listener):
    _listeners.append(listener)


def remove_listener(listener):
    if listener in _listeners:
        _listeners.remove(listener)


def publish_step(job, step):
    for listener in list(_listeners):
        listener(job, step)
    message = {"type": "job.step", "job": str(job.id), "step": step_snapshot(step)}
    transaction.on_commit(lambda: _send(job_group(job.id), message))


def publish_job(job):
    message = {"type": "job.status", "job": job_snapshot(job)}
    transaction.on_commit(lambda: _send(job_group(job.id), message))
