"""Taking, reverting to and deleting a VM's snapshot answer the same through the web UI and
the API: refused for the same reason (a bad or taken name, another tenant's VM, a missing
confirmation, the quota, a suspended VM, a busy VM), accepted with the same job and the
same rows (apps.vms.snapshots, docs/snapshots.md)."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from apps.accounts.quotas import Quota
from apps.vms.models import Snapshot, SnapshotState, VirtualMachine, VmStatus
from tests.doors.outcomes import api_outcome, assert_same, doors, rolled_back, ui_outcome
from tests.doors.vm_setups import busy, suspended

UI_ROUTES = {
    "vm_snapshot_create": "create",
    "vm_snapshot_revert": "revert",
    "vm_snapshot_delete": "delete",
}
API_ROUTES = {
    ("vm", "create_snapshot"): "create",
    ("vm", "revert_snapshot"): "revert",
    ("vm", "delete_snapshot"): "delete",
}


@pytest.fixture
def world(admin_user, reseller, customer, other_customer, test_host):
    mine = VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, status=VmStatus.ACTIVE)
    theirs = VirtualMachine.objects.create(name="web-2", owner=other_customer, host=test_host, status=VmStatus.ACTIVE)
    kept = Snapshot.objects.create(vm=mine, name="kept", overlay_volume="a.qcow2", state=SnapshotState.READY)
    foreign = Snapshot.objects.create(vm=theirs, name="kept", overlay_volume="b.qcow2", state=SnapshotState.READY)
    users = {"admin": admin_user, "reseller": reseller, "customer": customer, "other": other_customer}
    return SimpleNamespace(users=users, vm=mine, their_vm=theirs, kept=kept, foreign=foreign)


def create_ui(client, vm, name, description=""):
    return client.post(reverse("ui:vm_snapshot_create", args=[vm.pk]), {"name": name, "description": description})


def create_api(client, vm, name, description=""):
    return client.post(f"/api/v1/vms/{vm.pk}/snapshots/", {"name": name, "description": description}, format="json")


def revert_ui(client, vm, snapshot, confirm):
    data = {"confirm": "on"} if confirm else {}
    return client.post(reverse("ui:vm_snapshot_revert", args=[vm.pk, snapshot.pk]), data)


def revert_api(client, vm, snapshot, confirm):
    return client.post(f"/api/v1/vms/{vm.pk}/snapshots/{snapshot.pk}/revert/", {"confirm": confirm}, format="json")


def delete_ui(client, vm, snapshot):
    return client.post(reverse("ui:vm_snapshot_delete", args=[vm.pk, snapshot.pk]))


def delete_api(client, vm, snapshot):
    return client.delete(f"/api/v1/vms/{vm.pk}/snapshots/{snapshot.pk}/")


def rows():
    return sorted(Snapshot.objects.values_list("vm_id", "name", "state"))


def over_quota(world):
    Quota.objects.create(user=world.users["customer"], max_snapshots=1)


@pytest.mark.parametrize(
    ("actor", "which", "name", "setup", "verdict", "fields"),
    [
        ("customer", "vm", "not a name!", None, "refused", {"name"}),
        ("customer", "vm", "kept", None, "refused", {"name"}),
        ("customer", "vm", "new-one", over_quota, "refused", {"quota"}),
        ("customer", "vm", "new-one", suspended, "refused", {"vm"}),
        ("customer", "vm", "new-one", busy, "refused", {"busy"}),
        ("customer", "their_vm", "new-one", None, "forbidden", None),
        ("reseller", "their_vm", "new-one", None, "forbidden", None),
    ],
)
def test_both_doors_refuse_a_snapshot_alike(world, actor, which, name, setup, verdict, fields):
    if setup:
        setup(world)
    ui_client, api_client = doors(world.users[actor])
    vm, before = getattr(world, which), rows()
    ui_answer = ui_outcome(create_ui(ui_client, vm, name))
    api_answer = api_outcome(create_api(api_client, vm, name))
    assert rows() == before
    assert ui_answer.verdict == verdict, ui_answer.detail
    assert_same(ui_answer, api_answer)
    if fields:
        assert {field for field, _message in api_answer.reasons} == fields


@pytest.mark.parametrize("actor", ["customer", "reseller", "admin"])
def test_both_doors_take_a_snapshot_with_the_same_job(world, actor):
    ui_client, api_client = doors(world.users[actor])
    with rolled_back():
        ui_answer = ui_outcome(create_ui(ui_client, world.vm, "before-update", "clean"))
        after_ui = rows()
    with rolled_back():
        api_answer = api_outcome(create_api(api_client, world.vm, "before-update", "clean"))
        after_api = rows()
    assert ui_answer.verdict == "accepted", ui_answer.detail
    assert ui_answer.job_kind == "vm_snapshot_create"
    assert_same(ui_answer, api_answer)
    assert after_ui == after_api
    assert (world.vm.pk, "before-update", "creating") in after_ui


def test_both_doors_want_the_revert_confirmed_and_hide_other_tenants(world):
    before = rows()
    for actor, which, snapshot, verdict in (
        ("customer", "vm", "kept", "refused"),
        ("other", "vm", "kept", "forbidden"),
        ("customer", "vm", "foreign", "forbidden"),
    ):
        ui_client, api_client = doors(world.users[actor])
        vm, row = getattr(world, which), getattr(world, snapshot)
        ui_answer = ui_outcome(revert_ui(ui_client, vm, row, False))
        api_answer = api_outcome(revert_api(api_client, vm, row, False))
        assert ui_answer.verdict == verdict, ui_answer.detail
        assert_same(ui_answer, api_answer)
        if verdict == "refused":
            assert {field for field, _message in api_answer.reasons} == {"confirm"}
    assert rows() == before


def test_both_doors_revert_and_delete_with_the_same_jobs(world):
    ui_client, api_client = doors(world.users["customer"])
    vm, kept = world.vm, world.kept
    cases = (
        (lambda: revert_ui(ui_client, vm, kept, True), lambda: revert_api(api_client, vm, kept, True), "reverting"),
        (lambda: delete_ui(ui_client, vm, kept), lambda: delete_api(api_client, vm, kept), "deleting"),
    )
    for (ui_call, api_call, state), kind in zip(cases, ("vm_snapshot_revert", "vm_snapshot_delete"), strict=True):
        with rolled_back():
            ui_answer = ui_outcome(ui_call())
            after_ui = rows()
        with rolled_back():
            api_answer = api_outcome(api_call())
            after_api = rows()
        assert ui_answer.verdict == "accepted", ui_answer.detail
        assert ui_answer.job_kind == kind
        assert_same(ui_answer, api_answer)
        assert after_ui == after_api
        assert (world.vm.pk, "kept", state) in after_ui


def test_both_doors_refuse_deleting_a_busy_snapshot_or_another_tenants(world):
    Snapshot.objects.filter(pk=world.kept.pk).update(state=SnapshotState.CREATING)
    before = rows()
    for actor, snapshot, verdict in (("customer", "kept", "refused"), ("other", "kept", "forbidden")):
        ui_client, api_client = doors(world.users[actor])
        ui_answer = ui_outcome(delete_ui(ui_client, world.vm, getattr(world, snapshot)))
        api_answer = api_outcome(delete_api(api_client, world.vm, getattr(world, snapshot)))
        assert ui_answer.verdict == verdict, ui_answer.detail
        assert_same(ui_answer, api_answer)
    assert rows() == before
