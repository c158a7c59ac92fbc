"""VMs: the list (search, filters, sorting, pages, live badges), one VM's page and ordering a new one."""

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from apps.accounts.plans import Plan
from apps.ipam.allocation import addresses_of
from apps.jobs.registry import UnknownOperation
from apps.jobs.selectors import visible_jobs
from apps.traffic import services as traffic
from apps.ui.access import signed_in
from apps.ui.forms.vm_filters import VmFilterForm
from apps.ui.forms.vms import VmCreateForm, apply_errors
from apps.ui.paging import paginate
from apps.ui.vm_actions import power_buttons
from apps.vms import addresses as vm_addresses
from apps.vms import migration, quotas, recovery, suspension
from apps.vms.create import create_vm
from apps.vms.filtersets import VmFilterSet
from apps.vms.models import VirtualMachine
from apps.vms.selectors import visible_vms

# Offered as quick sizes when the provider has not defined any plans.
DEFAULT_SIZES = [(1, 1024, 10), (2, 2048, 20), (4, 4096, 40), (8, 8192, 80)]


def vm_queryset(user):
    return visible_vms(user).select_related("owner", "host", "image", "current_job")


@signed_in
def vm_list(request):
    """Constant queries whatever the page size: the rows come with owner, host, image and job."""
    form = VmFilterForm(request.GET or None, user=request.user)
    # The API's filters: a value they refuse (a malformed id, say) is left out, not a 400.
    vms = VmFilterSet(request.GET, queryset=vm_queryset(request.user)).qs.order_by(*form.order_by())
    page, query = paginate(request, vms)
    context = {"form": form, "page": page, "query": query, "filtered": bool(request.GET.get("q") or form.changed_data)}
    # htmx asks for the table alone when the filters change.
    template = "ui/vms/_table.html" if request.headers.get("HX-Request") else "ui/vms/list.html"
    return render(request, template, context)


def _vm_jobs(user, vm):
    return (
        visible_jobs(user)
        .filter(target_type=ContentType.objects.get_for_model(VirtualMachine), target_id=vm.pk)
        .select_related("actor", "target_type")
        .order_by("-created_at")[:15]
    )


@signed_in
def vm_detail(request, pk):
    vm = get_object_or_404(vm_queryset(request.user).select_related("plan"), pk=pk)
    context = {
        "vm": vm,
        "traffic": traffic.usage(vm),
        "may_lift_traffic": traffic.may_lift(request.user),
        "jobs": _vm_jobs(request.user, vm),
        "power_buttons": power_buttons(vm.power_state),
        "public_addresses": addresses_of(vm),
        "may_suspend": suspension.may_suspend(request.user, vm.owner),
        "may_change_addresses": vm_addresses.may_change(request.user, vm),
        "snapshots": list(vm.snapshots.all()),
        "may_recover": recovery.may_recover(request.user, vm),
        "may_migrate": migration.may_migrate(request.user, vm),
    }
    return render(request, "ui/vms/detail.html", context)


@signed_in
def vm_jobs(request, pk):
    """The VM's job history table alone: the VM page fetches it when a job starts or ends."""
    vm = get_object_or_404(visible_vms(request.user), pk=pk)
    return render(request, "ui/_jobs_table.html", {"jobs": _vm_jobs(request.user, vm)})


def _sizes(left):
    """The quick sizes: the provider's plans (else a default ladder), each marked whether it
    fits in what the quota leaves (`left`, apps.vms.quotas.room)."""
    plans = list(Plan.objects.filter(is_active=True))
    sizes = [(plan.name, plan.vcpus, plan.memory_mb, plan.disk_gb, plan.pk) for plan in plans]
    sizes = sizes or [("", *size, None) for size in DEFAULT_SIZES]
    return [(*size[:4], quotas.fits(left, *size[1:4]), size[4]) for size in sizes]


@signed_in
def vm_create(request):
    """Order a VM; on success go straight to the deploy job's live page. The form shows
    what the signed-in user's quota leaves; create_vm decides."""
    form = VmCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            vm, job = create_vm(**form.order(), actor=request.user, request_id=request.request_id)
        except ValidationError as exc:
            apply_errors(form, exc)
        except UnknownOperation:
            form.add_error(None, _("Creating VMs is not available on this panel yet."))
        else:
            messages.success(request, _("VM %(name)s ordered; its deploy runs now.") % {"name": vm.name})
            return redirect("ui:job_detail", job.pk)
    left = quotas.room(request.user)
    context = {
        "form": form,
        "sizes": _sizes(left),
        "quota_left": left if any(v is not None for v in left.values()) else None,
    }
    return render(request, "ui/vms/create.html", context)
