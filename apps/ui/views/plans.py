"""Plans (staff only): the sizes the order form offers. Changes go through
apps.accounts.services.plans, as the API's do; only active plans are offered when ordering."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.plans import Plan
from apps.accounts.services import plans as service
from apps.ui.access import staff_only
from apps.ui.forms.people import PlanForm
from apps.ui.forms.vms import apply_errors

FIELDS = [
    "name", "vcpus", "memory_mb", "disk_gb", "price_code", "is_active",
    "traffic_limit_gb", "traffic_action", "traffic_throttle_mbit", "backup_frequency", "backup_hour",
    "backup_weekday", "backup_keep_daily", "backup_keep_weekly",
]  # fmt: skip


@staff_only
def plan_list(request):
    return render(request, "ui/plans/list.html", {"plans": Plan.objects.order_by("vcpus", "memory_mb", "name")})


@staff_only
def plan_create(request):
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = service.create_plan(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Plan %(name)s created.") % {"name": plan.name})
            return redirect("ui:plan_list")
    return render(request, "ui/plans/edit.html", {"form": form})


@staff_only
def plan_edit(request, pk):
    plan = get_object_or_404(Plan, pk=pk)
    form = PlanForm(request.POST or None, initial=model_to_dict(plan, fields=FIELDS))
    if request.method == "POST" and form.is_valid():
        try:
            service.update_plan(actor=request.user, plan=plan, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
            plan.refresh_from_db()
        else:
            messages.success(request, _("Plan %(name)s saved.") % {"name": plan.name})
            return redirect("ui:plan_list")
    return render(request, "ui/plans/edit.html", {"form": form, "plan": plan})


@staff_only
@require_POST
def plan_delete(request, pk):
    plan = get_object_or_404(Plan, pk=pk)
    service.delete_plan(actor=request.user, plan=plan)
    messages.success(request, _("Plan %(name)s deleted; VMs ordered by it keep their size.") % {"name": plan.name})
    return redirect("ui:plan_list")
