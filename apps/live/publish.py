"""Events for open browser sockets, sent through the channel layer after the database
commit they describe. A lost event never fails the caller: the database is the record,
and a page that reconnects gets a fresh snapshot.

Groups: `job-<uuid>` (a job's status and steps), `vm-<id>` (a VM's power state and
status), `user-<id>` (the user's own sockets). The lower apps do not call these: they send
signals (apps.jobs.signals, apps.vms.signals) that receivers.py turns into these calls.
"""

import logging

from django.db import transaction

from apps.live import layer_loop

logger = logging.getLogger("vmmanager.live")


def job_group(job_id):
    return f"job-{job_id}"


def vm_group(vm_id):
    return f"vm-{vm_id}"


def user_group(user_id):
    return f"user-{user_id}"


def _times(row):
    """A job's or a step's start and end, as ISO 8601 (None: not yet)."""
    return {
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


def job_snapshot(job):
    return {
        "id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "error": job.error,
        "target": job.target_repr,
        **_times(job),
    }


def step_snapshot(step):
    return {
        "position": step.position,
        "name": step.name,
        "status": step.status,
        "detail": step.detail,
        **_times(step),
    }


def vm_snapshot(vm):
    """What a page needs to redraw a VM's badges: no secrets, no host internals."""
    return {
        "id": vm.pk,
        "name": vm.name,
        "power_state": vm.power_state,
        "status": vm.status,
        "ip_addresses": list(vm.ip_addresses or []),
        "current_job": str(vm.current_job_id) if vm.current_job_id else None,
        "host_unreachable": vm.host_unreachable,  # its power state is then only the last known
    }


def _send(group, message):
    try:
        layer_loop.send(group, message)
    except Exception:
        logger.warning("could not publish %s to %s", message.get("type"), group, exc_info=True)


def publish_step(job, step):
    """Tell pages watching `job` the step as it is now (sent once the transaction commits)."""
    message = {"type": "job.step", "job": str(job.id), "step": step_snapshot(step)}
    transaction.on_commit(lambda: _send(job_group(job.id), message))


def publish_job(job):
    """Tell pages watching `job` its status as it is now (sent once the transaction commits)."""
    message = {"type": "job.status", "job": job_snapshot(job)}
    transaction.on_commit(lambda: _send(job_group(job.id), message))


def publish_vm(vm):
    """Tell every page watching `vm` its current power state, status, addresses and job.

    Call it after changing any of those fields (the message is sent once the current
    transaction commits, or at once outside one). Never raises."""
    message = {"type": "vm.state", "vm": vm_snapshot(vm)}
    transaction.on_commit(lambda: _send(vm_group(vm.pk), message))


def disconnect_user(user_id):
    """Close every open socket of user `user_id` and, for a reseller, of its customers.

    Call it after blocking a user (after commit; at once outside a transaction). The
    sockets also notice a block by themselves within RECHECK_SECONDS (consumers.py).
    Never raises."""
    from apps.accounts.models import User

    def send():
        try:
            ids = [user_id, *User.objects.filter(reseller_id=user_id).values_list("pk", flat=True)]
        except Exception:
            logger.warning("could not list the customers of user %s", user_id, exc_info=True)
            ids = [user_id]
        for pk in ids:
            _send(user_group(pk), {"type": "user.blocked", "user": pk})

    transaction.on_commit(send)
