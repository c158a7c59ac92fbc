"""Suspension for non-payment, the one door (docs/billing.md): suspend and unsuspend a
customer (all its VMs) or a single VM, and terminate a suspended customer after a grace
period. Staff or the customer's reseller act; the customer itself cannot. Each call marks
the rows in its transaction (audited) and starts a job that takes the VMs down or brings
them back (apps/vms/suspension_work.py). A billing system retries: suspending what is
suspended, or unsuspending what is not, is a success that starts nothing (returns None).

While a VM is suspended, apps.vms.changes refuses start, resume, reboot, reinstall, password
reset and resize with the reason (`check_not_suspended`), and apps.vms.create.create_vm
refuses orders for a suspended customer."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Role, SuspendMode, User
from apps.accounts.tenancy import acts_for, is_staff_user
from apps.jobs import runner
from apps.jobs.models import Job, JobStatus
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from apps.vms.services import vm_operation
from apps.vms.signals import suspension_changed

REASON_MAX = 500


def check_not_suspended(vm):
    """Refuse a change a suspended VM may not take (one door: apps.vms.changes calls it)."""
    if vm.suspended_at is None:
        return
    reason = vm.suspension_reason or _("no reason given")
    message = _("This VM is suspended (%(reason)s). Ask your provider to lift the suspension.") % {"reason": reason}
    raise ValidationError({"vm": ValidationError(message, code="suspended")})


def may_suspend(actor, owner):
    """Whether `actor` may suspend `owner` (or its VMs): for showing the buttons."""
    try:
        check_may_suspend(actor, owner)
    except (Http404, PermissionDenied):
        return False
    return owner.role == Role.CUSTOMER


def check_may_suspend(actor, owner):
    """Staff, or the owner's reseller. Someone who may see the owner but not suspend it (the
    customer itself) is refused; someone who may not see it gets 404."""
    if actor is None or is_staff_user(actor):
        return
    if not acts_for(actor, owner):
        raise Http404("No such object.")
    if owner.reseller_id != actor.pk:
        raise PermissionDenied(_("Only staff or the customer's reseller may suspend or unsuspend it."))


def _checked(reason, mode, owner):
    errors = {}
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        errors["reason"] = _("At most %(count)d characters.") % {"count": REASON_MAX}
    if mode in (None, ""):
        mode = (owner.reseller.suspend_mode if owner.reseller_id else "") or settings.VMM_SUSPEND_MODE
    elif mode not in SuspendMode.values:
        errors["mode"] = _("One of: %(values)s.") % {"values": ", ".join(SuspendMode.values)}
    if errors:
        raise ValidationError(errors)
    return reason, mode


def _mark(vm, reason, with_owner):
    vm.suspended_at = timezone.now()
    vm.suspension_reason = reason
    vm.suspended_with_owner = with_owner
    vm.power_before_suspension = ""
    vm.save(update_fields=["suspended_at", "suspension_reason", "suspended_with_owner", "power_before_suspension"])


def _unmark(vm):
    previous = vm.power_before_suspension or PowerState.RUNNING
    vm.suspended_at = None
    vm.suspension_reason = ""
    vm.suspended_with_owner = False
    vm.power_before_suspension = ""
    vm.save(update_fields=["suspended_at", "suspension_reason", "suspended_with_owner", "power_before_suspension"])
    return previous


def _announce(owner, suspended, vm=None, reason=""):
    suspension_changed.send(sender=VirtualMachine, owner=owner, suspended=suspended, vm=vm, reason=reason)


def suspend_vm(vm, *, reason="", mode=None, actor=None, request_id=None):
    """Suspend one VM: the vm_billing_suspend job, or None if it already is suspended."""
    check_may_suspend(actor, vm.owner)
    reason, mode = _checked(reason, mode, vm.owner)
    if vm.suspended_at is not None:
        return None
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM can be suspended.")})
    with transaction.atomic():
        job = vm_operation(vm, "vm_billing_suspend", actor=actor, params={"mode": mode}, request_id=request_id)
        _mark(vm, reason, with_owner=False)
        _announce(vm.owner, True, vm=vm, reason=reason)
    return job


def unsuspend_vm(vm, *, actor=None, request_id=None):
    """Lift one VM's suspension: the vm_billing_unsuspend job, or None if it is not suspended."""
    check_may_suspend(actor, vm.owner)
    if vm.suspended_at is None:
        return None
    if vm.suspended_with_owner and vm.owner.suspended_at is not None:
        raise ValidationError({"vm": _("The VM is suspended with its customer: unsuspend the customer.")})
    with transaction.atomic():
        job = vm_operation(
            vm,
            "vm_billing_unsuspend",
            actor=actor,
            params={"previous": vm.power_before_suspension or PowerState.RUNNING},
            request_id=request_id,
        )
        _unmark(vm)
        _announce(vm.owner, False, vm=vm)
    return job


def _customer(user, actor):
    if isinstance(user, User):
        user = User.objects.select_related("reseller").get(pk=user.pk)
    else:
        user = User.objects.select_related("reseller").filter(pk=user).first()
        if user is None:
            raise Http404("No such user.")
    check_may_suspend(actor, user)
    if user.role != Role.CUSTOMER:
        raise ValidationError({"user": _("Only customers are suspended.")})
    return user


def suspend_customer(user, *, reason="", mode=None, actor=None, request_id=None):
    """Suspend a customer and every active VM of its: the customer_suspend job, or None if
    the customer already is suspended. VMs suspended on their own stay as they are."""
    user = _customer(user, actor)
    reason, mode = _checked(reason, mode, user)
    if user.suspended_at is not None:
        return None
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.suspended_at is not None:
            return None
        user.suspended_at = timezone.now()
        user.suspension_reason = reason
        user.save(update_fields=["suspended_at", "suspension_reason"])
        vms = list(VirtualMachine.objects.filter(owner=user, status=VmStatus.ACTIVE, suspended_at__isnull=True))
        for vm in vms:
            _mark(vm, reason, with_owner=True)
        _announce(user, True, reason=reason)
        return runner.submit(
            "customer_suspend",
            user,
            actor=actor,
            params={"mode": mode, "vms": [vm.pk for vm in vms]},
            request_id=request_id,
        )


def unsuspend_customer(user, *, actor=None, request_id=None):
    """Lift a customer's suspension (and a termination it was waiting for): its VMs
    suspended with it go back to their power states. The customer_unsuspend job, or None
    if the customer is not suspended."""
    user = _customer(user, actor)
    if user.suspended_at is None:
        return None
    if _terminating(user):
        raise ValidationError({"user": _("The customer's VMs are being deleted: it cannot be unsuspended now.")})
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.suspended_at is None:
            return None
        user.suspended_at = None
        user.suspension_reason = ""
        user.terminate_at = None
        user.save(update_fields=["suspended_at", "suspension_reason", "terminate_at"])
        previous = {
            str(vm.pk): _unmark(vm)
            for vm in VirtualMachine.objects.filter(owner=user, suspended_with_owner=True, suspended_at__isnull=False)
        }
        _announce(user, False)
        return runner.submit(
            "customer_unsuspend", user, actor=actor, params={"previous": previous}, request_id=request_id
        )


def terminate_customer(user, *, actor=None, request_id=None):
    """Schedule the deletion of a suspended customer's VMs after VMM_TERMINATE_GRACE_HOURS
    (terminate_due starts the customer_terminate job then; unsuspending cancels it).
    Returns the time it is due; asking again keeps the first time."""
    user = _customer(user, actor)
    if user.suspended_at is None:
        raise ValidationError({"user": _("Suspend the customer first.")})
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.terminate_at is None:
            user.terminate_at = timezone.now() + timedelta(hours=settings.VMM_TERMINATE_GRACE_HOURS)
            user.save(update_fields=["terminate_at"])
    return user.terminate_at


def _terminating(user):
    return Job.objects.filter(
        kind="customer_terminate", target_id=user.pk, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
    ).exists()


def terminate_due(now=None):
    """Start customer_terminate for every suspended customer whose grace period is over
    (jobs reconciler housekeeping, every minute). A customer whose job still runs waits."""
    now = now or timezone.now()
    started = []
    due = User.objects.filter(terminate_at__lte=now, suspended_at__isnull=False)
    for user in due:
        if not _terminating(user):
            started.append(runner.submit("customer_terminate", user))
    return started
