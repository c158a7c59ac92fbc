"""The Snapshots card of the VM page and its three pages (take, revert, delete): what a
customer sees, in English and Russian, and that each page starts its job through
apps.vms.snapshots. Another tenant's VM or snapshot is 404 on every page."""

from django.urls import reverse

from apps.jobs.models import Job
from apps.vms.models import Snapshot, SnapshotState


def snapshot(vm, name="before-update", **fields):
    defaults = {"overlay_volume": f"vmm-{vm.uuid}-snap-x.qcow2", "state": SnapshotState.READY, "consistency": "frozen"}
    return Snapshot.objects.create(vm=vm, name=name, **{**defaults, **fields})


def test_the_vm_page_lists_snapshots_with_their_actions(as_customer, my_vm):
    page = as_customer.get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert "No snapshots yet." in page
    assert reverse("ui:vm_snapshot_create", args=[my_vm.pk]) in page
    kept = snapshot(my_vm, description="a clean system", size_bytes=3 * 2**20)
    busy = snapshot(my_vm, name="going", overlay_volume="y", state=SnapshotState.DELETING, consistency="crash")
    page = as_customer.get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert "before-update" in page and "a clean system" in page and "3.0\xa0MB" in page
    assert "Filesystems frozen" in page and "Not frozen (crash-consistent)" in page and "Being deleted" in page
    assert reverse("ui:vm_snapshot_revert", args=[my_vm.pk, kept.pk]) in page
    assert reverse("ui:vm_snapshot_delete", args=[my_vm.pk, kept.pk]) in page
    assert reverse("ui:vm_snapshot_revert", args=[my_vm.pk, busy.pk]) not in page  # busy: no actions
    assert reverse("ui:vm_snapshot_delete", args=[my_vm.pk, busy.pk]) not in page


def test_the_snapshot_card_in_russian(as_customer, my_vm):
    snapshot(my_vm)
    as_customer.post(reverse("ui:set_language"), {"language": "ru", "next": "/"})
    page = as_customer.get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    assert "Снимки" in page and "Сделать снимок" in page and "Откатить" in page


def test_taking_a_snapshot_opens_its_job_and_a_bad_name_stays_on_the_form(as_customer, my_vm):
    url = reverse("ui:vm_snapshot_create", args=[my_vm.pk])
    assert as_customer.get(url).status_code == 200
    response = as_customer.post(url, {"name": "bad name", "description": ""})
    assert response.status_code == 200
    assert "Use 1-64 letters" in response.content.decode()
    assert not Job.objects.exists()
    response = as_customer.post(url, {"name": "before-update", "description": "clean"})
    job = Job.objects.get(kind="vm_snapshot_create")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    assert Snapshot.objects.get(vm=my_vm).description == "clean"


def test_reverting_needs_the_box_ticked(as_customer, my_vm):
    kept = snapshot(my_vm)
    url = reverse("ui:vm_snapshot_revert", args=[my_vm.pk, kept.pk])
    page = as_customer.get(url).content.decode()
    assert "everything written since" in page
    response = as_customer.post(url, {})
    assert "Confirm the revert" in response.content.decode()
    assert not Job.objects.exists()
    response = as_customer.post(url, {"confirm": "on"})
    job = Job.objects.get(kind="vm_snapshot_revert")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])


def test_deleting_opens_its_job(as_customer, my_vm):
    kept = snapshot(my_vm)
    response = as_customer.post(reverse("ui:vm_snapshot_delete", args=[my_vm.pk, kept.pk]))
    job = Job.objects.get(kind="vm_snapshot_delete")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    kept.refresh_from_db()
    assert kept.state == SnapshotState.DELETING


def test_another_tenants_snapshots_are_not_found(as_customer, my_vm, their_vm):
    theirs = snapshot(their_vm)
    for url in (
        reverse("ui:vm_snapshot_create", args=[their_vm.pk]),
        reverse("ui:vm_snapshot_revert", args=[their_vm.pk, theirs.pk]),
        reverse("ui:vm_snapshot_delete", args=[their_vm.pk, theirs.pk]),
        reverse("ui:vm_snapshot_delete", args=[my_vm.pk, theirs.pk]),  # my VM, their snapshot
    ):
        assert as_customer.get(url).status_code == 404
        assert as_customer.post(url, {"name": "x", "confirm": "on"}).status_code == 404
    assert not Job.objects.exists()
