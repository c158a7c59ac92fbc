"""A VM's snapshots from the web UI (docs/snapshots.md): take one, revert to one, delete one.
Each page only starts the job through apps.vms.snapshots, as the API does; the list is on
the VM's page. A VM or snapshot one may not see is 404."""

from django.shortcuts import get_object_or_404, render

from apps.ui import vm_actions
from apps.ui.access import signed_in
from apps.ui.forms.snapshots import DeleteSnapshotForm, RevertSnapshotForm, SnapshotForm
from apps.ui.views.vms import vm_queryset
from apps.vms import snapshots


def _page(request, pk, snapshot_id, form_class, kind, template, start):
    """GET shows the form; a valid POST starts the job (`start(vm, snapshot, data, who)`)
    and opens its page; otherwise the form again with the reasons."""
    vm = get_object_or_404(vm_queryset(request.user), pk=pk)
    snapshot = snapshots.snapshot_of(vm, snapshot_id) if snapshot_id is not None else None
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        who = {"actor": request.user, "request_id": request.request_id}
        answer = vm_actions.start_job_page(request, vm, form, kind, lambda: start(vm, snapshot, form.cleaned_data, who))
        if answer is not None:
            return answer
    return render(request, template, {"vm": vm, "snapshot": snapshot, "form": form})


@signed_in
def vm_snapshot_create(request, pk):
    def start(vm, _snapshot, data, who):
        return snapshots.create_snapshot(vm, data["name"], description=data["description"], **who)

    return _page(request, pk, None, SnapshotForm, "vm_snapshot_create", "ui/vms/snapshot_create.html", start)


@signed_in
def vm_snapshot_revert(request, pk, snapshot_id):
    def start(vm, snapshot, data, who):
        return snapshots.revert_snapshot(vm, snapshot, confirm=data["confirm"], **who)

    return _page(
        request, pk, snapshot_id, RevertSnapshotForm, "vm_snapshot_revert", "ui/vms/snapshot_revert.html", start
    )


@signed_in
def vm_snapshot_delete(request, pk, snapshot_id):
    def start(vm, snapshot, _data, who):
        return snapshots.delete_snapshot(vm, snapshot, **who)

    return _page(
        request, pk, snapshot_id, DeleteSnapshotForm, "vm_snapshot_delete", "ui/vms/snapshot_delete.html", start
    )
