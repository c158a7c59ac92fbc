"""A VM's snapshots from the web UI (docs/snapshots.md): take one, revert to one, delete one.
Each page only starts the job through apps.vms.snapshots, as the API does; the list is on
the VM's page. A VM or snapshot one may not see is 404."""

from apps.ui.access import signed_in
from apps.ui.forms.snapshots import DeleteSnapshotForm, RevertSnapshotForm, SnapshotForm
from apps.ui.views.vm_item_pages import item_job_page
from apps.vms import snapshots


def _page(request, pk, snapshot_id, form_class, kind, template, start):
    item = ("snapshot", snapshots.snapshot_of, snapshot_id)
    return item_job_page(request, pk, item, form_class, kind, template, start)


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
