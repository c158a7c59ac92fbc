"""VM snapshots (docs/snapshots.md): the one place that decides whether a snapshot may be
taken, reverted to or deleted. Both doors (API and web UI) call these functions.

- Tenancy: a VM the actor may not act on, and a snapshot of another VM, are Http404.
- State: only an active VM; one job at a time on the VM (runner.submit raises TargetBusy);
  a VM suspended for non-payment takes no snapshot and reverts to none (deleting one, which
  only frees space, is allowed).
- Input: `name` 1-64 letters, digits, dots, hyphens and underscores, unique per VM;
  `description` at most 500 characters; reverting needs `confirm` (everything written since
  the snapshot is lost, and so are the snapshots taken after it).
- Quota: `max_snapshots` (apps.accounts.quotas), the owner's and its reseller's, checked in
  the transaction that makes the snapshot's row (the reservation) and starts the job.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for
from apps.vms import quotas
from apps.vms.create import NAME_RE
from apps.vms.models import Snapshot, SnapshotState, VmStatus
from apps.vms.rescue import check_not_in_rescue
from apps.vms.services import vm_operation
from apps.vms.suspension import check_not_suspended

DESCRIPTION_MAX = 500


def check_actor(vm, actor):
    if actor is not None and not acts_for(actor, vm.owner):
        raise Http404(_("No such VM."))


def snapshot_of(vm, snapshot):
    """`vm`'s snapshot `snapshot` (a Snapshot or its id), else Http404."""
    key = getattr(snapshot, "pk", snapshot)
    found = Snapshot.objects.filter(pk=key, vm=vm).first() if str(key).isdigit() else None
    if found is None:
        raise Http404(_("No such snapshot."))
    return found


def overlay_name(vm):
    """A new overlay volume's name: the VM's prefix (cleaned up with it), unique."""
    return f"vmm-{vm.uuid}-snap-{uuid.uuid4().hex[:12]}.qcow2"


def _check_active(vm):
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM has snapshots taken, reverted or deleted.")})
    check_not_in_rescue(vm)


def create_snapshot(vm, name, *, description="", actor=None, request_id=None):
    """Take a snapshot `name` of `vm`'s disk (the vm_snapshot_create job). Returns the job."""
    check_actor(vm, actor)
    check_not_suspended(vm)
    errors = {}
    name = (name or "").strip()
    if not NAME_RE.match(name):
        errors["name"] = _("Use 1-64 letters, digits, dots, hyphens and underscores.")
    elif Snapshot.objects.filter(vm=vm, name=name).exists():
        errors["name"] = ValidationError(
            _("This VM already has a snapshot named %(name)s.") % {"name": name}, code="unique"
        )
    if len(description or "") > DESCRIPTION_MAX:
        errors["description"] = _("At most %(max)d characters.") % {"max": DESCRIPTION_MAX}
    if errors:
        raise ValidationError(errors)
    _check_active(vm)
    with transaction.atomic():
        snapshot = Snapshot.objects.create(
            vm=vm, name=name, description=description or "", overlay_volume=overlay_name(vm)
        )
        quotas.check_and_reserve(vm.owner, 0, 0, 0, vms=0, snapshots=1)
        return vm_operation(
            vm, "vm_snapshot_create", actor=actor, params={"snapshot_id": snapshot.pk}, request_id=request_id
        )


def revert_snapshot(vm, snapshot, *, confirm=False, actor=None, request_id=None):
    """Bring `vm`'s disk back to `snapshot` (the vm_snapshot_revert job): the VM is powered
    off, what it wrote since and the snapshots taken after it are discarded, and it is
    started again if it ran. Needs `confirm`. Returns the job."""
    check_actor(vm, actor)
    snapshot = snapshot_of(vm, snapshot)
    check_not_suspended(vm)
    if not confirm:
        raise ValidationError(
            {
                "confirm": ValidationError(
                    _("Confirm the revert: the VM is powered off and everything written since the snapshot is lost."),
                    code="required",
                )
            }
        )
    _check_active(vm)
    if snapshot.state != SnapshotState.READY:
        raise ValidationError({"snapshot": _("Only a ready snapshot can be reverted to.")})
    with transaction.atomic():
        Snapshot.objects.filter(pk=snapshot.pk).update(state=SnapshotState.REVERTING)
        return vm_operation(
            vm, "vm_snapshot_revert", actor=actor, params={"snapshot_id": snapshot.pk}, request_id=request_id
        )


def delete_snapshot(vm, snapshot, *, actor=None, request_id=None):
    """Delete `snapshot` (the vm_snapshot_delete job): its layer is merged into the one below,
    the VM's data stays as it is. Returns the job."""
    check_actor(vm, actor)
    snapshot = snapshot_of(vm, snapshot)
    _check_active(vm)
    if snapshot.state not in (SnapshotState.READY, SnapshotState.FAILED):
        raise ValidationError({"snapshot": _("This snapshot is busy: wait for its job to end.")})
    with transaction.atomic():
        Snapshot.objects.filter(pk=snapshot.pk).update(state=SnapshotState.DELETING)
        return vm_operation(
            vm,
            "vm_snapshot_delete",
            actor=actor,
            params={"snapshot_id": snapshot.pk, "was": snapshot.state},
            request_id=request_id,
        )
