"""Suspend a customer for non-payment (apps.vms.suspension.suspend_customer marked it and
its VMs): each VM taken down in a step of its own, holding the VM's claim."""

from apps.vms import suspension_work


def run(ctx, user, mode="stop", vms=()):
    suspension_work.each_vm(ctx, vms, "Take down", lambda vm: suspension_work.take_down(ctx, vm, mode))
