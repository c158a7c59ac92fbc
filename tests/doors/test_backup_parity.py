"""Backing a VM up, restoring a backup into it and deleting one answer the same through the
web UI and the API: refused for the same reason (no such repository, another tenant's VM or
backup, a missing confirmation, a suspended VM, a lost host, a busy VM, a VM with
snapshots, the max_backups quota), accepted with the same job and the same rows
(apps.backups.services, docs/backups.md). Adding a repository too (staff only; a password
too short), and setting and removing a VM's backup schedule (apps.backups.schedules)."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from apps.accounts.quotas import Quota
from apps.backups.models import (
    Backup,
    BackupFile,
    BackupFileState,
    BackupRepository,
    BackupSchedule,
    BackupState,
    RepositoryState,
)
from apps.vms.models import Snapshot, VirtualMachine, VmStatus
from tests.doors.outcomes import api_outcome, assert_same, doors, rolled_back, ui_outcome
from tests.doors.vm_setups import busy, host_lost, suspended

UI_ROUTES = {
    "vm_backup_create": "create",
    "vm_backup_restore": "restore",
    "vm_backup_delete": "delete",
    "backup_repository_add": "add repository",
    "vm_backup_schedule": "set schedule",
    "vm_backup_schedule_remove": "remove schedule",
    "backup_new_vm": "restore into a new VM",
    "kept_backup_delete": "delete a kept backup",
    "backup_file_extract": "take a file out",
}
API_ROUTES = {
    ("vm", "create_backup"): "create",
    ("vm", "restore_backup"): "restore",
    ("vm", "delete_backup"): "delete",
    ("backuprepository", "create"): "add repository",
    ("vm", "set_backup_schedule"): "set schedule",
    ("vm", "remove_backup_schedule"): "remove schedule",
    ("vm", "backup_new_vm"): "restore into a new VM",
    ("keptbackup", "new_vm"): "restore into a new VM",
    ("keptbackup", "destroy"): "delete a kept backup",
    ("vm", "backup_file"): "take a file out",
    ("keptbackup", "files"): "take a file out",
}


@pytest.fixture
def world(admin_user, reseller, customer, other_customer, test_host, tmp_path):
    repository = BackupRepository.objects.create(
        name="local", path=str(tmp_path / "repo"), password="x" * 12, state=RepositoryState.READY
    )
    mine = VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, status=VmStatus.ACTIVE)
    theirs = VirtualMachine.objects.create(name="web-2", owner=other_customer, host=test_host, status=VmStatus.ACTIVE)

    def backup(vm):
        return Backup.objects.create(
            vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, state=BackupState.READY,
            restic_snapshot_id="a" * 64, filename=f"vm-{vm.pk}-vda.raw", size_bytes=2**30,
        )  # fmt: skip

    def left_by_a_deleted_vm(owner):
        return Backup.objects.create(
            vm=None, vm_name="gone", owner=owner, repository=repository, state=BackupState.READY,
            restic_snapshot_id="b" * 64, filename="vm-0-vda.raw", size_bytes=2**30,
        )  # fmt: skip

    users = {"admin": admin_user, "reseller": reseller, "customer": customer, "other": other_customer}
    return SimpleNamespace(
        users=users, vm=mine, their_vm=theirs, kept=backup(mine), foreign=backup(theirs), repository=repository,
        orphan=left_by_a_deleted_vm(customer), their_orphan=left_by_a_deleted_vm(other_customer), host=test_host,
    )  # fmt: skip


def create_ui(client, vm, repository=""):
    return client.post(reverse("ui:vm_backup_create", args=[vm.pk]), {"repository": repository})


def create_api(client, vm, repository=None):
    return client.post(f"/api/v1/vms/{vm.pk}/backups/", {"repository": repository}, format="json")


def restore_ui(client, vm, backup, confirm):
    data = {"confirm": "on"} if confirm else {}
    return client.post(reverse("ui:vm_backup_restore", args=[vm.pk, backup.pk]), data)


def restore_api(client, vm, backup, confirm):
    return client.post(f"/api/v1/vms/{vm.pk}/backups/{backup.pk}/restore/", {"confirm": confirm}, format="json")


def delete_ui(client, vm, backup):
    return client.post(reverse("ui:vm_backup_delete", args=[vm.pk, backup.pk]))


def delete_api(client, vm, backup):
    return client.delete(f"/api/v1/vms/{vm.pk}/backups/{backup.pk}/")


def rows():
    return sorted(Backup.objects.values_list("vm_id", "repository_id", "state"), key=repr)  # vm_id None: kept


def no_repository(world):
    BackupRepository.objects.filter(pk=world.repository.pk).update(state=RepositoryState.FAILED)


def over_quota(world):
    Quota.objects.create(user=world.users["customer"], max_backups=1)  # the kept backup counts


def with_snapshot(world):
    Snapshot.objects.create(vm=world.vm, name="s", overlay_volume="s.qcow2", state="ready")


@pytest.mark.parametrize(
    ("actor", "which", "setup", "verdict", "fields"),
    [
        ("customer", "vm", suspended, "refused", {"vm"}),
        ("customer", "vm", host_lost, "refused", {"vm"}),
        ("customer", "vm", busy, "refused", {"busy"}),
        ("customer", "vm", no_repository, "refused", {"repository"}),
        ("customer", "vm", over_quota, "refused", {"quota"}),
        ("customer", "their_vm", None, "forbidden", None),
        ("reseller", "their_vm", None, "forbidden", None),
    ],
)
def test_both_doors_refuse_a_backup_alike(world, actor, which, setup, verdict, fields):
    if setup:
        setup(world)
    ui_client, api_client = doors(world.users[actor])
    vm, before = getattr(world, which), rows()
    ui_answer = ui_outcome(create_ui(ui_client, vm))
    api_answer = api_outcome(create_api(api_client, vm))
    assert rows() == before
    assert ui_answer.verdict == verdict, ui_answer.detail
    assert_same(ui_answer, api_answer)
    if fields:
        assert {field for field, _message in api_answer.reasons} == fields


@pytest.mark.parametrize("actor", ["customer", "reseller", "admin"])
def test_both_doors_start_a_backup_with_the_same_job(world, actor):
    ui_client, api_client = doors(world.users[actor])
    with rolled_back():
        ui_answer = ui_outcome(create_ui(ui_client, world.vm, world.repository.pk))
        after_ui = rows()
    with rolled_back():
        api_answer = api_outcome(create_api(api_client, world.vm, world.repository.pk))
        after_api = rows()
    assert ui_answer.verdict == "accepted", ui_answer.detail
    assert ui_answer.job_kind == "vm_backup_create"
    assert_same(ui_answer, api_answer)
    assert after_ui == after_api
    assert (world.vm.pk, world.repository.pk, "creating") in after_ui


def test_both_doors_want_the_restore_confirmed_and_hide_other_tenants(world):
    before = rows()
    for actor, which, backup, verdict in (
        ("customer", "vm", "kept", "refused"),
        ("other", "vm", "kept", "forbidden"),
        ("customer", "vm", "foreign", "forbidden"),
    ):
        ui_client, api_client = doors(world.users[actor])
        vm, row = getattr(world, which), getattr(world, backup)
        ui_answer = ui_outcome(restore_ui(ui_client, vm, row, False))
        api_answer = api_outcome(restore_api(api_client, vm, row, False))
        assert ui_answer.verdict == verdict, ui_answer.detail
        assert_same(ui_answer, api_answer)
        if verdict == "refused":
            assert {field for field, _message in api_answer.reasons} == {"confirm"}
    assert rows() == before


def test_both_doors_refuse_restoring_into_a_vm_with_snapshots(world):
    with_snapshot(world)
    ui_client, api_client = doors(world.users["customer"])
    ui_answer = ui_outcome(restore_ui(ui_client, world.vm, world.kept, True))
    api_answer = api_outcome(restore_api(api_client, world.vm, world.kept, True))
    assert ui_answer.verdict == "refused", ui_answer.detail
    assert_same(ui_answer, api_answer)
    assert {field for field, _message in api_answer.reasons} == {"vm"}


def test_both_doors_restore_and_delete_with_the_same_jobs(world):
    ui_client, api_client = doors(world.users["customer"])
    vm, kept = world.vm, world.kept
    cases = (
        (lambda: restore_ui(ui_client, vm, kept, True), lambda: restore_api(api_client, vm, kept, True), "restoring"),
        (lambda: delete_ui(ui_client, vm, kept), lambda: delete_api(api_client, vm, kept), "deleting"),
    )
    for (ui_call, api_call, state), kind in zip(cases, ("vm_backup_restore", "vm_backup_delete"), strict=True):
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
        assert (world.vm.pk, world.repository.pk, state) in after_ui


def test_both_doors_refuse_deleting_a_busy_backup_or_another_tenants(world):
    Backup.objects.filter(pk=world.kept.pk).update(state=BackupState.CREATING)
    before = rows()
    for actor, backup, verdict in (("customer", "kept", "refused"), ("other", "kept", "forbidden")):
        ui_client, api_client = doors(world.users[actor])
        ui_answer = ui_outcome(delete_ui(ui_client, world.vm, getattr(world, backup)))
        api_answer = api_outcome(delete_api(api_client, world.vm, getattr(world, backup)))
        assert ui_answer.verdict == verdict, ui_answer.detail
        assert_same(ui_answer, api_answer)
    assert rows() == before


def add_ui(client, **data):
    return client.post(reverse("ui:backup_repository_add"), data)


def add_api(client, **data):
    return client.post("/api/v1/backup-repositories/", data, format="json")


def repositories():
    return sorted(BackupRepository.objects.values_list("name", "path", "state"))


def test_both_doors_add_a_repository_with_the_same_job_and_refuse_alike(world, tmp_path):
    ui_client, api_client = doors(world.users["admin"])
    good = {"name": "second", "kind": "local", "path": str(tmp_path / "second"), "password": "long enough pw"}
    with rolled_back():
        ui_answer = ui_outcome(add_ui(ui_client, **good))
        after_ui = repositories()
    with rolled_back():
        api_answer = api_outcome(add_api(api_client, **good))
        after_api = repositories()
    assert ui_answer.verdict == "accepted", ui_answer.detail
    assert ui_answer.job_kind == "backup_repository_init"
    assert_same(ui_answer, api_answer)
    assert after_ui == after_api and ("second", str(tmp_path / "second"), "initializing") in after_ui

    before = repositories()
    for data, fields in (
        ({**good, "password": "short"}, {"password"}),
        ({**good, "name": "local"}, {"name"}),
        ({**good, "path": "relative/dir"}, {"path"}),
        ({**good, "path": world.repository.path}, {"path"}),
    ):
        ui_answer = ui_outcome(add_ui(ui_client, **data))
        api_answer = api_outcome(add_api(api_client, **data))
        assert ui_answer.verdict == "refused", (data, ui_answer.detail)
        assert_same(ui_answer, api_answer)
        assert {field for field, _message in api_answer.reasons} == fields
    for actor in ("customer", "reseller"):
        ui_client, api_client = doors(world.users[actor])
        ui_answer = ui_outcome(add_ui(ui_client, **good))
        api_answer = api_outcome(add_api(api_client, **good))
        assert ui_answer.verdict == api_answer.verdict == "forbidden", (ui_answer.detail, api_answer.detail)
    assert repositories() == before


def schedule_rows():
    return sorted(
        BackupSchedule.objects.values_list("vm_id", "frequency", "hour", "weekday", "keep_daily", "keep_weekly")
    )


SCHEDULE = {"frequency": "weekly", "hour": 4, "weekday": 2, "keep_daily": 3, "keep_weekly": 2}


def schedule_ui(client, vm, **data):
    return client.post(reverse("ui:vm_backup_schedule", args=[vm.pk]), {**SCHEDULE, "repository": "", **data})


def schedule_api(client, vm, **data):
    return client.put(f"/api/v1/vms/{vm.pk}/backup-schedule/", {**SCHEDULE, **data}, format="json")


@pytest.mark.parametrize(
    ("actor", "which", "data", "verdict", "fields"),
    [
        ("customer", "vm", {"keep_daily": 0, "keep_weekly": 0}, "refused", {"keep_daily"}),
        ("customer", "vm", {"keep_weekly": 600}, "refused", {"keep_weekly"}),
        ("customer", "their_vm", {}, "forbidden", None),
        ("reseller", "their_vm", {}, "forbidden", None),
    ],
)
def test_both_doors_refuse_a_schedule_alike(world, actor, which, data, verdict, fields):
    ui_client, api_client = doors(world.users[actor])
    vm, before = getattr(world, which), schedule_rows()
    ui_answer = ui_outcome(schedule_ui(ui_client, vm, **data))
    api_answer = api_outcome(schedule_api(api_client, vm, **data))
    assert schedule_rows() == before
    assert ui_answer.verdict == verdict, ui_answer.detail
    assert_same(ui_answer, api_answer)
    if fields:
        assert {field for field, _message in api_answer.reasons} == fields


@pytest.mark.parametrize("actor", ["customer", "reseller", "admin"])
def test_both_doors_set_and_remove_a_schedule_alike(world, actor):
    ui_client, api_client = doors(world.users[actor])
    with rolled_back():
        ui_answer = ui_outcome(schedule_ui(ui_client, world.vm))
        after_ui = schedule_rows()
    with rolled_back():
        api_answer = api_outcome(schedule_api(api_client, world.vm))
        after_api = schedule_rows()
    assert ui_answer.verdict == "accepted", ui_answer.detail
    assert_same(ui_answer, api_answer)
    assert after_ui == after_api == [(world.vm.pk, "weekly", 4, 2, 3, 2)]

    for remove in (
        lambda: ui_client.post(reverse("ui:vm_backup_schedule_remove", args=[world.vm.pk])),
        lambda: api_client.delete(f"/api/v1/vms/{world.vm.pk}/backup-schedule/"),
    ):
        with rolled_back():
            schedule_api(api_client, world.vm)
            answer = remove()
            assert answer.status_code in (204, 302) and schedule_rows() == []
    other_ui, other_api = doors(world.users["other"])
    schedule_api(api_client, world.vm)
    assert ui_outcome(other_ui.post(reverse("ui:vm_backup_schedule_remove", args=[world.vm.pk]))).verdict == "forbidden"
    assert api_outcome(other_api.delete(f"/api/v1/vms/{world.vm.pk}/backup-schedule/")).verdict == "forbidden"
    assert len(schedule_rows()) == 1


def new_vm_ui(client, backup, **data):
    return client.post(reverse("ui:backup_new_vm", args=[backup.pk]), {"start": "on", **data})


def new_vm_api(client, backup, **data):
    if backup.vm_id is None:
        return client.post(f"/api/v1/kept-backups/{backup.pk}/new-vm/", data, format="json")
    return client.post(f"/api/v1/vms/{backup.vm_id}/backups/{backup.pk}/new-vm/", data, format="json")


def vm_rows():
    return sorted(VirtualMachine.objects.values_list("name", "owner_id", "vcpus", "memory_mb", "disk_gb", "status"))


NEW_VM = {"name": "copy", "vcpus": 1, "memory_mb": 512}


@pytest.mark.parametrize("which", ["kept", "orphan"])
@pytest.mark.parametrize("actor", ["customer", "reseller", "admin"])
def test_both_doors_restore_a_backup_into_a_new_vm_with_the_same_job(world, roomy, actor, which):
    ui_client, api_client = doors(world.users[actor])
    backup = getattr(world, which)
    answers, after = {}, {}
    for door, send in (("ui", new_vm_ui), ("api", new_vm_api)):
        with rolled_back():
            answers[door] = (ui_outcome if door == "ui" else api_outcome)(send(
                ui_client if door == "ui" else api_client, backup, **NEW_VM
            ))  # fmt: skip
            after[door] = (vm_rows(), rows())
    assert answers["ui"].verdict == "accepted", answers["ui"].detail
    assert answers["ui"].job_kind == "vm_backup_restore_new"
    assert_same(answers["ui"], answers["api"])
    assert after["ui"] == after["api"]
    customer = world.users["customer"]
    assert ("copy", customer.pk, 1, 512, 1, "creating") in after["ui"][0]
    assert (backup.vm_id, world.repository.pk, "restoring") in after["ui"][1]


@pytest.fixture
def roomy(world):
    type(world.host).objects.filter(pk=world.host.pk).update(cpus=64, memory_mb=131072, disk_bytes=2**41)


@pytest.mark.parametrize(
    ("actor", "which", "data", "verdict", "fields"),
    [
        ("customer", "orphan", {"name": "web-1"}, "refused", {"name"}),
        ("customer", "kept", {"disk_gb": 2}, "refused", {"disk_gb"}),
        ("customer", "orphan", {"vcpus": 1000}, "refused", {"vcpus"}),
        ("customer", "orphan", {}, "refused", {"quota"}),
        ("customer", "their_orphan", {}, "forbidden", None),
        ("reseller", "their_orphan", {}, "forbidden", None),
        ("other", "kept", {}, "forbidden", None),
    ],
)
def test_both_doors_refuse_a_new_vm_from_a_backup_alike(world, roomy, actor, which, data, verdict, fields):
    if fields == {"quota"}:
        Quota.objects.create(user=world.users["customer"], max_vms=1)
    Backup.objects.filter(pk=world.kept.pk).update(size_bytes=3 * 2**30)  # a 3 GiB disk's
    ui_client, api_client = doors(world.users[actor])
    backup, before = getattr(world, which), (vm_rows(), rows())
    ui_answer = ui_outcome(new_vm_ui(ui_client, backup, **{**NEW_VM, **data}))
    api_answer = api_outcome(new_vm_api(api_client, backup, **{**NEW_VM, **data}))
    assert (vm_rows(), rows()) == before
    assert ui_answer.verdict == verdict, ui_answer.detail
    assert_same(ui_answer, api_answer)
    if fields:
        assert {field for field, _message in api_answer.reasons} == fields


def kept_delete_ui(client, backup):
    return client.post(reverse("ui:kept_backup_delete", args=[backup.pk]))


def kept_delete_api(client, backup):
    return client.delete(f"/api/v1/kept-backups/{backup.pk}/")


def test_both_doors_delete_a_kept_backup_alike(world):
    ui_client, api_client = doors(world.users["customer"])
    answers, after = {}, {}
    for door, send, client in (("ui", kept_delete_ui, ui_client), ("api", kept_delete_api, api_client)):
        with rolled_back():
            answers[door] = (ui_outcome if door == "ui" else api_outcome)(send(client, world.orphan))
            after[door] = rows()
    assert answers["ui"].verdict == "accepted", answers["ui"].detail
    assert answers["ui"].job_kind == "backup_delete"
    assert_same(answers["ui"], answers["api"])
    assert after["ui"] == after["api"] and (None, world.repository.pk, "deleting") in after["ui"]

    before = rows()
    for actor, backup, verdict in (("other", "orphan", "forbidden"), ("customer", "their_orphan", "forbidden"),
                                   ("customer", "kept", "forbidden")):  # fmt: skip
        ui_client, api_client = doors(world.users[actor])
        ui_answer = ui_outcome(kept_delete_ui(ui_client, getattr(world, backup)))
        api_answer = api_outcome(kept_delete_api(api_client, getattr(world, backup)))
        assert ui_answer.verdict == verdict, ui_answer.detail
        assert_same(ui_answer, api_answer)
    assert rows() == before
    Backup.objects.filter(pk=world.orphan.pk).update(state=BackupState.RESTORING)
    before = rows()
    ui_client, api_client = doors(world.users["customer"])
    ui_answer = ui_outcome(kept_delete_ui(ui_client, world.orphan))
    api_answer = api_outcome(kept_delete_api(api_client, world.orphan))
    assert ui_answer.verdict == "refused", ui_answer.detail
    assert_same(ui_answer, api_answer)
    assert {field for field, _message in api_answer.reasons} == {"backup"}
    assert rows() == before


def file_ui(client, backup, path):
    return client.post(reverse("ui:backup_file_extract", args=[backup.pk]), {"path": path})


def file_api(client, backup, path):
    if backup.vm_id is None:
        return client.post(f"/api/v1/kept-backups/{backup.pk}/files/", {"path": path}, format="json")
    return client.post(f"/api/v1/vms/{backup.vm_id}/backups/{backup.pk}/files/", {"path": path}, format="json")


def file_rows():
    return sorted(BackupFile.objects.values_list("owner_id", "backup_id", "path", "state"), key=repr)


@pytest.mark.parametrize("which", ["kept", "orphan"])
def test_both_doors_take_a_file_out_of_a_backup_with_the_same_job(world, which):
    ui_client, api_client = doors(world.users["customer"])
    backup = getattr(world, which)
    answers, after = {}, {}
    for door, send, client, outcome in (("ui", file_ui, ui_client, ui_outcome), ("api", file_api, api_client,
                                                                               api_outcome)):  # fmt: skip
        with rolled_back():
            answers[door] = outcome(send(client, backup, "/etc/nginx/nginx.conf"))
            after[door] = (file_rows(), rows())
    assert answers["ui"].verdict == "accepted", answers["ui"].detail
    assert answers["ui"].job_kind == "backup_file_extract"
    assert_same(answers["ui"], answers["api"])
    assert after["ui"] == after["api"]
    customer = world.users["customer"]
    assert after["ui"][0] == [(customer.pk, backup.pk, "/etc/nginx/nginx.conf", "extracting")]
    assert (backup.vm_id, world.repository.pk, "restoring") in after["ui"][1]


def five_held(world):
    for n in range(5):
        BackupFile.objects.create(owner=world.users["customer"], vm_name="web-1", path=f"/f{n}")


def not_ready(world):
    Backup.objects.filter(pk__in=[world.kept.pk, world.orphan.pk]).update(state=BackupState.CREATING)


@pytest.mark.parametrize(
    ("actor", "which", "path", "setup", "verdict", "fields"),
    [
        ("customer", "kept", "etc/hosts", None, "refused", {"path"}),
        ("customer", "orphan", "/etc/../etc/hosts", None, "refused", {"path"}),
        ("customer", "kept", "/etc/hosts/", None, "refused", {"path"}),
        ("customer", "kept", "/etc/hosts", not_ready, "refused", {"backup"}),
        ("customer", "orphan", "/etc/hosts", five_held, "refused", {"quota"}),
        ("reseller", "kept", "/etc/hosts", None, "forbidden", None),  # sees it: not the owner
        ("admin", "orphan", "/etc/hosts", None, "forbidden", None),
        ("other", "kept", "/etc/hosts", None, "forbidden", None),
        ("customer", "foreign", "/etc/hosts", None, "forbidden", None),
        ("customer", "their_orphan", "/etc/hosts", None, "forbidden", None),
    ],
)
def test_both_doors_refuse_taking_a_file_out_alike(world, actor, which, path, setup, verdict, fields):
    if setup:
        setup(world)
    ui_client, api_client = doors(world.users[actor])
    backup, before = getattr(world, which), (file_rows(), rows())
    ui_answer = ui_outcome(file_ui(ui_client, backup, path))
    api_answer = api_outcome(file_api(api_client, backup, path))
    assert (file_rows(), rows()) == before
    assert ui_answer.verdict == verdict, ui_answer.detail
    assert_same(ui_answer, api_answer)
    if fields:
        assert {field for field, _message in api_answer.reasons} == fields
    assert BackupFile.objects.filter(state=BackupFileState.EXTRACTING).count() == (5 if setup is five_held else 0)
