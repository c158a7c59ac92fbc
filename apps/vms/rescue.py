"""Rescue mode: the one place that decides whether a VM may boot the panel's rescue system, or
leave it, and what a VM in rescue mode may not do (docs/rescue.md).

A VM in rescue mode boots a small Linux (the kernel and initramfs of VMM_RESCUE_KERNEL and
VMM_RESCUE_INITRD, copied to its host) with its own disk attached as /dev/vda and a root shell
on its serial and graphical consoles: its owner repairs a system that no longer boots, or one
whose password is lost, or copies data off it. `rescue_since` says since when. Both doors (web
UI and API) call `enter_rescue` and `leave_rescue`; the other changes call
`check_not_in_rescue`. The work is apps.vms.rescue_work's (operations vm_rescue and
vm_unrescue)."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for
from apps.vms.lost_host import check_host_reachable
from apps.vms.models import VmStatus
from apps.vms.services import vm_operation
from apps.vms.suspension import check_not_suspended


def rescue_files():
    """(kernel, initrd): the rescue system's files on this machine, or None when it has none."""
    kernel, initrd = Path(settings.VMM_RESCUE_KERNEL), Path(settings.VMM_RESCUE_INITRD)
    if kernel.is_file() and initrd.is_file():
        return kernel, initrd
    return None


def check_not_in_rescue(vm):
    """Refuse a change a VM in rescue mode may not take: its disk is the rescue system's to
    work on, and its own system is not running (no guest agent)."""
    if vm.rescue_since is not None:
        _refuse(_("The VM is in rescue mode: leave rescue mode first."), "in_rescue")


def _refuse(message, code):
    """ValidationError on `vm` with `code` (the API's error code)."""
    raise ValidationError({"vm": ValidationError(message, code=code)})


def _check(vm, actor):
    if actor is not None and not acts_for(actor, vm.owner):
        raise Http404("No such VM.")
    if vm.status != VmStatus.ACTIVE:
        _refuse(_("Only an active VM has a rescue mode."), "invalid_state")
    check_host_reachable(vm)


def enter_rescue(vm, *, actor=None, request_id=None):
    """Boot `vm` into the rescue system (job vm_rescue): a running VM is shut down first
    (graceful, then forced after VMM_STOP_TIMEOUT)."""
    _check(vm, actor)
    check_not_suspended(vm)
    if vm.rescue_since is not None:
        _refuse(_("The VM is in rescue mode already."), "in_rescue")
    if rescue_files() is None:
        _refuse(_("Rescue mode is not set up on this panel: ask your provider."), "not_available")
    return vm_operation(vm, "vm_rescue", actor=actor, request_id=request_id)


def leave_rescue(vm, *, actor=None, request_id=None):
    """Shut the rescue system down and boot `vm`'s own system again (job vm_unrescue); a VM
    suspended meanwhile is left stopped."""
    _check(vm, actor)
    if vm.rescue_since is None:
        _refuse(_("The VM is not in rescue mode."), "not_in_rescue")
    return vm_operation(vm, "vm_unrescue", actor=actor, request_id=request_id)
