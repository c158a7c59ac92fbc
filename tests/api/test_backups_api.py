"""/api/v1/vms/<id>/backups/ and /api/v1/backup-repositories/ (docs/backups.md): list and read
a VM's backups, start one, restore one, delete one (202 with the job); add a repository
(201 with its init job); the password is write-only; bad input is 400 naming the field;
another tenant's VM or backup is 404."""

from apps.backups.models import Backup, BackupRepository, BackupState, RepositoryState
from apps.jobs.models import Job
from tests.api.conftest import codes, make_vm


def test_list_read_start_restore_delete(api, customer, host, tmp_path):
    vm = make_vm(customer, host)
    client = api(customer)
    assert client.get(f"/api/v1/vms/{vm.pk}/backups/").json()["results"] == []
    repo = BackupRepository.objects.create(
        name="local", path=str(tmp_path), password="x" * 10, state=RepositoryState.READY
    )
    fields = {"vm": vm, "vm_name": vm.name, "owner": customer, "repository": repo, "filename": "d.raw"}
    older = Backup.objects.create(state=BackupState.READY, restic_snapshot_id="c" * 64, size_bytes=2**30, **fields)
    Backup.objects.create(state=BackupState.FAILED, error="restic backup failed", **fields)
    body = client.get(f"/api/v1/vms/{vm.pk}/backups/?page_size=1").json()
    assert [row["state"] for row in body["results"]] == ["failed"] and body["next"]  # newest first, paged
    one = client.get(f"/api/v1/vms/{vm.pk}/backups/{older.pk}/").json()
    assert {k: one[k] for k in ("vm", "repository", "state", "restic_snapshot_id", "size_bytes")} == {
        "vm": vm.pk, "repository": repo.pk, "state": "ready", "restic_snapshot_id": "c" * 64, "size_bytes": 2**30,
    }  # fmt: skip

    response = client.post(f"/api/v1/vms/{vm.pk}/backups/", {}, format="json")
    assert response.status_code == 202, response.content
    job = Job.objects.get(kind="vm_backup_create")
    assert job.params == {"backup_id": Backup.objects.get(state="creating").pk}
    vm.__class__.objects.filter(pk=vm.pk).update(current_job=None)

    response = client.post(f"/api/v1/vms/{vm.pk}/backups/{older.pk}/restore/", {"confirm": True}, format="json")
    assert response.status_code == 202 and response.json()["job"]["kind"] == "vm_backup_restore"
    vm.__class__.objects.filter(pk=vm.pk).update(current_job=None)
    Backup.objects.filter(pk=older.pk).update(state="ready")

    response = client.delete(f"/api/v1/vms/{vm.pk}/backups/{older.pk}/")
    assert response.status_code == 202 and response.json()["job"]["kind"] == "vm_backup_delete"


def test_bad_input_is_400_naming_the_field_and_other_tenants_are_404(api, customer, other_customer, host):
    vm = make_vm(customer, host)
    client = api(customer)
    for body, field in (({"repository": "1"}, "repository"), ({"repository": 0}, "repository")):
        response = client.post(f"/api/v1/vms/{vm.pk}/backups/", body, format="json")
        assert response.status_code == 400 and field in {f for f, _c in codes(response)}, (body, response.content)
    response = client.post(f"/api/v1/vms/{vm.pk}/backups/", {}, format="json")  # no repository yet
    assert response.status_code == 400 and "repository" in {f for f, _c in codes(response)}
    assert api(other_customer).get(f"/api/v1/vms/{vm.pk}/backups/").status_code == 404
    assert client.get(f"/api/v1/vms/{vm.pk}/backups/999/").status_code == 404


def test_staff_add_a_repository_and_its_password_is_write_only(api, admin_user, customer, tmp_path):
    client = api(admin_user)
    body = {"name": "local", "path": str(tmp_path / "r"), "password": "horse-battery-9"}
    response = client.post("/api/v1/backup-repositories/", body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["job"]["kind"] == "backup_repository_init" and answer["repository"]["state"] == "initializing"
    assert "password" not in answer["repository"]
    listed = client.get("/api/v1/backup-repositories/").content.decode()
    assert "horse-battery-9" not in listed and "local" in listed
    assert api(customer).get("/api/v1/backup-repositories/").status_code == 403
    response = client.post("/api/v1/backup-repositories/", {**body, "password": 12345678}, format="json")
    assert response.status_code == 400 and "password" in {f for f, _c in codes(response)}


def test_staff_add_an_sftp_repository_and_its_private_key_is_write_only(api, admin_user, tmp_path, settings):
    from tests.backups.sshd import keygen

    settings.VMM_SSH_DIR = tmp_path / "ssh"
    key, public = keygen(tmp_path / "own")
    client = api(admin_user)
    body = {"name": "remote", "kind": "sftp", "host": "backup.example.net", "port": 2222, "username": "restic",
            "path": "/srv/restic", "password": "horse-battery-9"}  # fmt: skip
    response = client.post("/api/v1/backup-repositories/", {**body, "ssh_private_key": key}, format="json")
    assert response.status_code == 201, response.content
    shown = response.json()["repository"]
    assert shown["ssh_public_key"] == public and "ssh_private_key" not in shown
    assert {k: shown[k] for k in ("kind", "host", "port", "username", "path")} == {
        "kind": "sftp", "host": "backup.example.net", "port": 2222, "username": "restic", "path": "/srv/restic",
    }  # fmt: skip
    assert "PRIVATE KEY" not in client.get(f"/api/v1/backup-repositories/{shown['id']}/").content.decode()
    response = client.post("/api/v1/backup-repositories/", {**body, "name": "panel key", "port": 22}, format="json")
    panel_key = (settings.VMM_SSH_DIR / "id_ed25519.pub").read_text().strip()
    assert response.status_code == 201 and response.json()["repository"]["ssh_public_key"] == panel_key
    nobody = {**body, "name": "x", "path": "/srv/x", "username": ""}
    response = client.post("/api/v1/backup-repositories/", nobody, format="json")
    assert response.status_code == 400 and {f for f, _c in codes(response)} == {"username"}


def test_the_max_backups_quota_set_through_the_api_refuses_a_backup_naming_it(
    api, admin_user, customer, host, tmp_path
):
    vm = make_vm(customer, host)
    repo = BackupRepository.objects.create(name="local", path=str(tmp_path), password="x" * 10, state="ready")
    Backup.objects.create(vm=vm, vm_name=vm.name, owner=customer, repository=repo, filename="d.raw", state="ready",
                          restic_snapshot_id="c" * 64)  # fmt: skip
    assert api(admin_user).put(f"/api/v1/quotas/{customer.pk}/", {"max_backups": 1}, format="json").status_code == 200
    client = api(customer)
    assert client.get(f"/api/v1/quotas/{customer.pk}/usage/").json()["backups"] == 1
    response = client.post(f"/api/v1/vms/{vm.pk}/backups/", {}, format="json")
    assert response.status_code == 400 and codes(response) == [("quota", "quota_exceeded")]
    assert "max_backups" in response.json()["errors"][0]["message"]
    assert Backup.objects.count() == 1


def test_the_backup_schedule_set_read_and_removed(api, customer, other_customer, host):
    from apps.backups.models import BackupSchedule

    vm = make_vm(customer, host)
    client = api(customer)
    url = f"/api/v1/vms/{vm.pk}/backup-schedule/"
    assert client.get(url).status_code == 404
    body = {"frequency": "weekly", "hour": 4, "weekday": 0, "keep_daily": 3, "keep_weekly": 2}
    response = client.put(url, body, format="json")
    assert response.status_code == 200, response.content
    shown = client.get(url).json()
    assert {k: shown[k] for k in body} == body and shown["repository"] is None and shown["last_failure_reason"] == ""
    assert api(other_customer).put(url, body, format="json").status_code == 404
    response = client.put(url, {**body, "keep_daily": 0, "keep_weekly": 0}, format="json")
    assert response.status_code == 400 and codes(response) == [("keep_daily", "invalid")]
    assert client.delete(url).status_code == 204 and not BackupSchedule.objects.exists()
    assert client.delete(url).status_code == 404
    # A schedule naming its repository answers with the repository's id, on PUT and GET.
    repo = BackupRepository.objects.create(name="named", path="/srv/named-repo", password="x" * 10, state="ready")
    response = client.put(url, {**body, "repository": repo.pk}, format="json")
    assert response.status_code == 200 and response.json()["repository"] == repo.pk, response.content
    assert client.get(url).json()["repository"] == repo.pk


def test_deleting_a_vm_keeps_its_backups_unless_asked_and_the_parameter_is_checked(api, customer, host, tmp_path):
    from drf_spectacular.generators import SchemaGenerator

    vm = make_vm(customer, host)
    client = api(customer)
    for bad in ("yes", "True", "1", ""):
        response = client.delete(f"/api/v1/vms/{vm.pk}/?keep_backups={bad}")
        assert response.status_code == 400 and ("keep_backups", "invalid_choice") in codes(response), bad
    assert not Job.objects.filter(kind="vm_delete").exists()
    response = client.delete(f"/api/v1/vms/{vm.pk}/?keep_backups=false")
    assert response.status_code == 202, response.content
    assert Job.objects.get(kind="vm_delete").params == {"keep_backups": False}
    Job.objects.all().delete()
    vm.__class__.objects.filter(pk=vm.pk).update(current_job=None)
    assert client.delete(f"/api/v1/vms/{vm.pk}/").status_code == 202
    assert Job.objects.get(kind="vm_delete").params == {"keep_backups": True}
    schema = SchemaGenerator().get_schema(request=None, public=True)
    (parameter,) = [p for p in schema["paths"]["/api/v1/vms/{id}/"]["delete"]["parameters"] if p["in"] == "query"]
    assert parameter["name"] == "keep_backups" and parameter["schema"]["type"] == "boolean"


def test_the_backups_of_deleted_vms_are_listed_deleted_and_restored_into_new_vms(api, customer, host, tmp_path):
    from apps.vms.models import VirtualMachine

    vm = make_vm(customer, host)
    repo = BackupRepository.objects.create(name="local", path=str(tmp_path), password="x" * 10, state="ready")
    fields = {"vm_name": "gone", "owner": customer, "repository": repo, "filename": "d.raw", "size_bytes": 3 * 2**30}
    kept = Backup.objects.create(vm=None, state=BackupState.READY, restic_snapshot_id="c" * 64, **fields)
    Backup.objects.create(vm=vm, state=BackupState.READY, restic_snapshot_id="d" * 64, **fields)
    client = api(customer)
    body = client.get("/api/v1/kept-backups/").json()
    assert [(row["id"], row["vm"], row["vm_name"], row["owner"]) for row in body["results"]] == [
        (kept.pk, None, "gone", customer.pk)
    ]
    response = client.post(f"/api/v1/kept-backups/{kept.pk}/new-vm/", {"name": "again", "vcpus": 1}, format="json")
    assert response.status_code == 400 and ("memory_mb", "required") in codes(response)
    response = client.post(
        f"/api/v1/kept-backups/{kept.pk}/new-vm/", {"name": "again", "vcpus": 1, "memory_mb": 512}, format="json"
    )
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["job"]["kind"] == "vm_backup_restore_new"
    assert (answer["vm"]["name"], answer["vm"]["disk_gb"], answer["vm"]["status"]) == ("again", 3, "creating")
    assert VirtualMachine.objects.get(pk=answer["vm"]["id"]).owner == customer
    response = client.delete(f"/api/v1/kept-backups/{kept.pk}/")  # being read by the restore
    assert response.status_code == 400 and ("backup", "invalid") in codes(response)
    Backup.objects.filter(pk=kept.pk).update(state="ready")
    response = client.delete(f"/api/v1/kept-backups/{kept.pk}/")
    assert response.status_code == 202 and response.json()["job"]["kind"] == "backup_delete"
