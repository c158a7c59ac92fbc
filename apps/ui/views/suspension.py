"""Suspension for non-payment from the web UI (docs/billing.md): suspend or unsuspend a VM
or its customer, terminate a suspended customer. Each calls apps.vms.suspension, which
decides (staff or the customer's reseller only); these views only parse and answer."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.tenancy import visible_users
from apps.jobs.runner import TargetBusy
from apps.ui.access import signed_in
from apps.ui.forms.vms import SuspendForm, apply_errors
from apps.ui.views.vms import vm_queryset
from apps.vms import suspension


def _done(request, job, back, nothing):
    if job is not None:
        return redirect("ui:job_detail", job.pk)
    messages.info(request, nothing)
    return back


def _suspend(request, target, start, template, back):
    form = SuspendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = start(**form.cleaned_data, actor=request.user, request_id=request.request_id)
        except ValidationError as exc:
            apply_errors(form, exc)
        except TargetBusy as exc:
            messages.error(request, str(exc))
        else:
            return _done(request, job, back, _("Already suspended: nothing to do."))
    return render(request, template, {"target": target, "form": form, "back": back.url})


def _lift(request, start, back):
    try:
        job = start(actor=request.user, request_id=request.request_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except TargetBusy as exc:
        messages.error(request, str(exc))
    else:
        return _done(request, job, back, _("Not suspended: nothing to do."))
    return back


@signed_in
def vm_billing_suspend(request, pk):
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    suspension.check_may_suspend(request.user, vm.owner)
    back = redirect("ui:vm_detail", vm.pk)
    start = lambda **kw: suspension.suspend_vm(vm, **kw)  # noqa: E731
    return _suspend(request, vm, start, "ui/billing/suspend_vm.html", back)


@signed_in
@require_POST
def vm_billing_unsuspend(request, pk):
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    return _lift(request, lambda **kw: suspension.unsuspend_vm(vm, **kw), redirect("ui:vm_detail", vm.pk))


@signed_in
def customer_suspend(request, pk):
    user = get_object_or_404(visible_users(request.user), pk=pk)
    suspension.check_may_suspend(request.user, user)
    back = redirect("ui:vm_list")
    start = lambda **kw: suspension.suspend_customer(user, **kw)  # noqa: E731
    return _suspend(request, user, start, "ui/billing/suspend_customer.html", back)


@signed_in
@require_POST
def customer_unsuspend(request, pk):
    user = get_object_or_404(visible_users(request.user), pk=pk)
    return _lift(request, lambda **kw: suspension.unsuspend_customer(user, **kw), redirect("ui:vm_list"))


@signed_in
@require_POST
def customer_terminate(request, pk):
    user = get_object_or_404(visible_users(request.user), pk=pk)
    try:
        due = suspension.terminate_customer(user, actor=request.user, request_id=request.request_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(user)s's VMs will be deleted at %(when)s unless the suspension is lifted before.")
            % {"user": user.username, "when": formats.date_format(due, "DATETIME_FORMAT")},
        )
    return redirect("ui:vm_list")
