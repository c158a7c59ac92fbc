"""Adding and removing a VM's public addresses (staff and resellers): a form page that starts
the job through apps.vms.addresses, as the API does. A customer (PermissionDenied) and a VM
or address one may not see get 404: pages hide what one may not do."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from apps.ipam.models import Address, Pool
from apps.ui import vm_actions
from apps.ui.access import signed_in
from apps.ui.forms.addresses import AddAddressForm, RemoveAddressForm
from apps.ui.views.vms import vm_queryset
from apps.vms import addresses


def _vm(request, pk):
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    try:
        addresses.check_may_change(vm, request.user)
    except PermissionDenied as exc:
        raise Http404 from exc
    return vm


@signed_in
def vm_address_add(request, pk):
    vm = _vm(request, pk)
    network = addresses.network_of(vm)
    pools = Pool.objects.filter(network=network).order_by("name") if network else Pool.objects.none()
    form = AddAddressForm(request.POST if request.method == "POST" else None, pools=pools)
    if request.method == "POST" and form.is_valid():
        who = {"actor": request.user, "request_id": request.request_id}
        pool = form.cleaned_data["pool"] or None
        answer = vm_actions.start_job_page(
            request, vm, form, "vm_address_add", lambda: addresses.add_address(vm, pool=pool, **who)
        )
        if answer is not None:
            return answer
        if not form.errors:
            return redirect("ui:vm_detail", vm.pk)
    return render(request, "ui/vms/address_add.html", {"vm": vm, "form": form})


@signed_in
def vm_address_remove(request, pk, address_id):
    vm = _vm(request, pk)
    row = get_object_or_404(Address.objects.select_related("pool"), pk=address_id, vm=vm)
    form = RemoveAddressForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        who = {"actor": request.user, "request_id": request.request_id}
        answer = vm_actions.start_job_page(
            request, vm, form, "vm_address_remove", lambda: addresses.remove_address(vm, row.pk, **who)
        )
        if answer is not None:
            return answer
        if not form.errors:
            return redirect("ui:vm_detail", vm.pk)
    return render(request, "ui/vms/address_remove.html", {"vm": vm, "row": row, "form": form})
