"""A VM's monthly traffic in the web UI (docs/traffic.md): the staff's "lift traffic
limit" button on the VM page. apps.traffic.services decides (staff only) and does it; the
API's POST /api/v1/vms/{id}/lift-traffic-limit/ calls the same function."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.jobs.runner import TargetBusy
from apps.traffic import services
from apps.ui import vm_actions
from apps.ui.access import signed_in
from apps.ui.views.vms import vm_queryset


@signed_in
@require_POST
def vm_traffic_lift(request, pk):
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    try:
        job = services.lift_traffic_limit(vm, actor=request.user, request_id=request.request_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except TargetBusy as exc:
        vm_actions.busy(request, vm, exc.job)
    else:
        if job is not None:
            return redirect("ui:job_detail", job.pk)
        messages.success(request, _("The traffic limit is lifted for this month."))
    return redirect("ui:vm_detail", vm.pk)
