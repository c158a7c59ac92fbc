"""Which events send which notices: a deploy that succeeded (VM ready, with its addresses),
a password reset that succeeded, a suspension or its lifting. Receivers never raise."""

import logging

from apps.jobs import signals as job_signals
from apps.jobs.models import JobStatus
from apps.notices.mail import notify
from apps.vms import signals as vm_signals
from apps.vms.models import VirtualMachine

logger = logging.getLogger("vmmanager.notices")
JOB_NOTICES = {"vm_create": "vm_ready", "vm_reset_password": "password_reset"}


def on_job_changed(sender, job, **kwargs):
    kind = JOB_NOTICES.get(job.kind)
    if kind is None or job.status != JobStatus.SUCCEEDED:
        return
    try:
        vm = VirtualMachine.objects.select_related("owner").filter(pk=job.target_id).first()
        if vm is not None:
            notify(vm.owner, kind, vm_name=vm.name, hostname=vm.hostname, addresses=list(vm.ip_addresses))
    except Exception:  # noqa: BLE001 - a notice must never fail a job
        logger.exception("notice for job %s", job.pk)


def on_suspension(sender, owner, suspended, vm=None, reason="", **kwargs):
    try:
        names = [vm.name] if vm is not None else list(owner.vms.values_list("name", flat=True))
        notify(owner, "suspended" if suspended else "unsuspended", vm_names=names, reason=reason, whole=vm is None)
    except Exception:  # noqa: BLE001
        logger.exception("suspension notice for user %s", owner.pk)


def connect():
    job_signals.job_changed.connect(on_job_changed, dispatch_uid="notices-job-changed")
    vm_signals.suspension_changed.connect(on_suspension, dispatch_uid="notices-suspension")
