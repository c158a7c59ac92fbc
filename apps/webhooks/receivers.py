"""Turning the panel's signals into events (apps.vms.signals, apps.jobs.signals, the VM
model's saves and deletes). Receivers never raise."""

from django.db.models.signals import post_delete, post_save

from apps.jobs import signals as job_signals
from apps.jobs.models import JobStatus
from apps.vms import signals as vm_signals
from apps.vms.models import VirtualMachine
from apps.webhooks.events import emit
from apps.webhooks.models import Event


def vm_data(vm):
    return {
        "vm": {
            "id": vm.pk,
            "uuid": str(vm.uuid),
            "name": vm.name,
            "owner": vm.owner_id,
            "status": vm.status,
            "power_state": vm.power_state,
            "ip_addresses": vm.ip_addresses,
            "suspended": vm.suspended_at is not None,
            "suspension_reason": vm.suspension_reason,
            "in_rescue": vm.rescue_since is not None,
        }
    }


def _owner(vm):
    return type(vm).owner.field.related_model.objects.filter(pk=vm.owner_id).first()


def on_vm_saved(sender, instance, created, **kwargs):
    if created:
        emit("vm.created", _owner(instance), vm_data(instance), subject=f"vm:{instance.pk}")


def on_vm_deleted(sender, instance, **kwargs):
    emit("vm.deleted", _owner(instance), vm_data(instance), subject=f"vm:{instance.pk}")


def on_vm_changed(sender, vm, **kwargs):
    """A state change: power state or status differs from the last one announced."""
    subject = f"vm:{vm.pk}"
    state = f'"power_state":"{vm.power_state}"', f'"status":"{vm.status}"'
    last = Event.objects.filter(type="vm.state_changed", subject=subject).values_list("body", flat=True).first()
    if last is not None and all(part in last for part in state):
        return
    if last is None and vm.power_state == "unknown":
        return
    emit("vm.state_changed", _owner(vm), vm_data(vm), subject=subject)


def on_job_changed(sender, job, **kwargs):
    if job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        return
    data = {
        "job": {
            "id": str(job.pk),
            "kind": job.kind,
            "status": job.status,
            "target": job.target_repr,
            "target_id": job.target_id,
            "error": job.error,
            "request_id": job.request_id,
        }
    }
    emit(f"job.{job.status}", job.owner, data, subject=f"job:{job.pk}", key=f"job:{job.pk}:{job.status}")


def on_suspension(sender, owner, suspended, vm=None, reason="", **kwargs):
    word = "suspended" if suspended else "unsuspended"
    if vm is not None:
        emit(f"vm.{word}", owner, {**vm_data(vm), "reason": reason}, subject=f"vm:{vm.pk}")
    else:
        data = {"customer": {"id": owner.pk, "username": owner.username}, "reason": reason}
        emit(f"customer.{word}", owner, data, subject=f"user:{owner.pk}")


def connect():
    post_save.connect(on_vm_saved, sender=VirtualMachine, dispatch_uid="webhooks-vm-saved")
    post_delete.connect(on_vm_deleted, sender=VirtualMachine, dispatch_uid="webhooks-vm-deleted")
    vm_signals.vm_changed.connect(on_vm_changed, dispatch_uid="webhooks-vm-changed")
    vm_signals.suspension_changed.connect(on_suspension, dispatch_uid="webhooks-suspension")
    job_signals.job_changed.connect(on_job_changed, dispatch_uid="webhooks-job-changed")
