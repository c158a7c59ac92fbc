"""Where live updates come from: the signals of the apps below (apps.jobs.signals,
apps.hosts.signals, apps.vms.signals), turned into channel-layer events by publish.py. Connected in
LiveConfig.ready(); the lower apps never import apps/live."""

from django.dispatch import receiver

from apps.hosts.signals import host_status_changed
from apps.jobs.signals import claim_changed, job_changed, step_changed
from apps.live.publish import publish_job, publish_step, publish_vm
from apps.vms.models import VirtualMachine
from apps.vms.signals import vm_changed


@receiver(job_changed, dispatch_uid="vmm_live_job_changed")
def on_job_changed(sender, job, **kwargs):
    publish_job(job)


@receiver(step_changed, dispatch_uid="vmm_live_step_changed")
def on_step_changed(sender, job, step, **kwargs):
    publish_step(job, step)


@receiver(claim_changed, sender=VirtualMachine, dispatch_uid="vmm_live_vm_claim_changed")
def on_vm_claim_changed(sender, target, **kwargs):
    """A job took or released the VM: pages show it busy (or free) at once."""
    publish_vm(target)


@receiver(vm_changed, dispatch_uid="vmm_live_vm_changed")
def on_vm_changed(sender, vm, **kwargs):
    publish_vm(vm)


@receiver(host_status_changed, dispatch_uid="vmm_live_host_status_changed")
def on_host_status_changed(sender, host_ids, **kwargs):
    """A host was lost or came back: pages showing its VMs say so (or stop saying it) at once."""
    for vm in VirtualMachine.objects.filter(host_id__in=host_ids).select_related("host"):
        publish_vm(vm)
