"""The page shape shared by the actions on one item of a VM (a snapshot, a backup): a form,
and the job it starts through the owning app's service. A VM or item one may not see is 404
(`item_of` raises it)."""

from django.shortcuts import get_object_or_404, render

from apps.ui import vm_actions
from apps.ui.views.vms import vm_queryset


def item_job_page(request, pk, item, form_class, kind, template, start, **form_kwargs):
    """GET shows the form; a valid POST starts the job (`start(vm, item, data, who)`) and opens
    its page; otherwise the form again with the reasons. `item` is (its name in the template,
    `item_of(vm, id)`, its id or None)."""
    name, item_of, item_id = item
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    found = item_of(vm, item_id) if item_id is not None else None
    form = form_class(request.POST if request.method == "POST" else None, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        who = {"actor": request.user, "request_id": request.request_id}
        answer = vm_actions.start_job_page(request, vm, form, kind, lambda: start(vm, found, form.cleaned_data, who))
        if answer is not None:
            return answer
    return render(request, template, {"vm": vm, name: found, "form": form})
