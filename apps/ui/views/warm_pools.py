"""Warm pools (staff only): standby VMs of an image kept running on a host ahead of orders
(docs/warm-pool.md). Changes go through apps.vms.warm_pool, as the API's do."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.forms.models import model_to_dict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.ui.access import staff_only
from apps.ui.forms.vms import apply_errors
from apps.ui.forms.warm_pools import WarmPoolForm
from apps.vms import warm_pool
from apps.vms.models import PowerState, VmStatus, WarmPool

SIZES = ["size", "max_vcpus", "max_memory_mb", "disk_gb"]


@staff_only
def warm_pool_list(request):
    ready = Q(standbys__status=VmStatus.ACTIVE, standbys__power_state=PowerState.RUNNING)
    pools = WarmPool.objects.select_related("image", "host").annotate(
        ready=Count("standbys", filter=ready), deploying=Count("standbys", filter=Q(standbys__status=VmStatus.CREATING))
    )
    return render(request, "ui/warm_pools/list.html", {"pools": pools})


@staff_only
def warm_pool_create(request):
    form = WarmPoolForm(request.POST or None, initial={"size": 1, "max_vcpus": 2, "max_memory_mb": 2048})
    if request.method == "POST" and form.is_valid():
        try:
            pool = warm_pool.save_pool(request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Warm pool of %(image)s on %(host)s created.") % _names(pool))
            return redirect("ui:warm_pool_list")
    return render(request, "ui/warm_pools/edit.html", {"form": form})


@staff_only
def warm_pool_edit(request, pk):
    pool = get_object_or_404(WarmPool.objects.select_related("image", "host"), pk=pk)
    form = WarmPoolForm(request.POST or None, pool=pool, initial=model_to_dict(pool, fields=SIZES))
    if request.method == "POST" and form.is_valid():
        try:
            warm_pool.save_pool(request.user, pool=pool, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Warm pool of %(image)s on %(host)s saved.") % _names(pool))
            return redirect("ui:warm_pool_list")
    return render(request, "ui/warm_pools/edit.html", {"form": form, "pool": pool})


@staff_only
@require_POST
def warm_pool_delete(request, pk):
    pool = get_object_or_404(WarmPool.objects.select_related("image", "host"), pk=pk)
    names = _names(pool)
    warm_pool.delete_pool(request.user, pool)
    messages.success(request, _("Warm pool of %(image)s on %(host)s deleted; its standby VMs are deleted.") % names)
    return redirect("ui:warm_pool_list")


def _names(pool):
    return {"image": pool.image.name, "host": pool.host.name}
