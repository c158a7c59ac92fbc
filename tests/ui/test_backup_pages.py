"""The VM's backups page (reached from the VM page) and its pages (back up, restore,
delete), and the staff's repositories pages: what a user sees, in English and Russian, that
each page starts its job through apps.backups.services, that the password is never shown,
and that another tenant's VM or backup is 404 (a customer gets no repositories page)."""

from django.urls import reverse

from apps.backups.models import Backup, BackupRepository, BackupState, RepositoryState
from apps.jobs.models import Job


def repository(tmp_path, name="local", **fields):
    defaults = {"path": str(tmp_path / name), "password": "secret-horse-42", "state": RepositoryState.READY}
    return BackupRepository.objects.create(name=name, **{**defaults, **fields})


def backup(vm, repo, **fields):
    defaults = {"state": BackupState.READY, "restic_snapshot_id": "b" * 64, "consistency": "frozen"}
    return Backup.objects.create(
        vm=vm,
        vm_name=vm.name,
        owner=vm.owner,
        repository=repo,
        filename=f"vm-{vm.pk}-vda.raw",
        **{**defaults, **fields},
    )


def test_the_vm_page_links_its_backups_page_which_lists_them_with_their_actions(as_customer, my_vm, tmp_path):
    detail = as_customer.get(reverse("ui:vm_detail", args=[my_vm.pk])).content.decode()
    url = reverse("ui:vm_backups", args=[my_vm.pk])
    assert url in detail and "0 backups in restic repositories." in detail
    page = as_customer.get(url).content.decode()
    assert "No backups yet." in page and reverse("ui:vm_backup_create", args=[my_vm.pk]) in page
    repo = repository(tmp_path)
    kept = backup(my_vm, repo, size_bytes=3 * 2**30, added_bytes=5 * 2**20, duration_s=12.34)
    busy = backup(my_vm, repo, state=BackupState.CREATING, consistency="unknown")
    failed = backup(
        my_vm, repo, state=BackupState.FAILED, restic_snapshot_id="", error="restic backup failed: disk full"
    )
    page = as_customer.get(url).content.decode()
    assert "3.0\xa0GB" in page and "5.0\xa0MB" in page and "12.3" in page and "Filesystems frozen" in page
    assert "Being taken" in page and "restic backup failed: disk full" in page
    assert reverse("ui:vm_backup_restore", args=[my_vm.pk, kept.pk]) in page
    assert reverse("ui:vm_backup_delete", args=[my_vm.pk, kept.pk]) in page
    assert reverse("ui:vm_backup_delete", args=[my_vm.pk, failed.pk]) in page
    assert reverse("ui:vm_backup_restore", args=[my_vm.pk, failed.pk]) not in page
    assert reverse("ui:vm_backup_delete", args=[my_vm.pk, busy.pk]) not in page
    assert "secret-horse-42" not in page


def test_the_backups_page_in_russian(as_customer, my_vm, tmp_path):
    backup(my_vm, repository(tmp_path))
    as_customer.post(reverse("ui:set_language"), {"language": "ru", "next": "/"})
    page = as_customer.get(reverse("ui:vm_backups", args=[my_vm.pk])).content.decode()
    assert "Резервные копии" in page and "Создать резервную копию" in page and "Восстановить" in page


def test_backing_up_restoring_and_deleting_open_their_jobs(as_customer, my_vm, tmp_path):
    repo = repository(tmp_path)
    page = as_customer.get(reverse("ui:vm_backup_create", args=[my_vm.pk])).content.decode()
    assert f'<option value="{repo.pk}">local</option>' in page
    response = as_customer.post(reverse("ui:vm_backup_create", args=[my_vm.pk]), {"repository": repo.pk})
    job = Job.objects.get(kind="vm_backup_create")
    assert response.status_code == 302 and response.url == reverse("ui:job_detail", args=[job.pk])
    my_vm.__class__.objects.filter(pk=my_vm.pk).update(current_job=None)

    kept = backup(my_vm, repo)
    url = reverse("ui:vm_backup_restore", args=[my_vm.pk, kept.pk])
    page = as_customer.post(url, {}).content.decode()  # not confirmed: the form again, the reason on the box
    assert "Confirm the restore" in page and not Job.objects.filter(kind="vm_backup_restore").exists()
    response = as_customer.post(url, {"confirm": "on"})
    assert response.status_code == 302 and Job.objects.filter(kind="vm_backup_restore").exists()
    my_vm.__class__.objects.filter(pk=my_vm.pk).update(current_job=None)
    Backup.objects.filter(pk=kept.pk).update(state=BackupState.READY)

    response = as_customer.post(reverse("ui:vm_backup_delete", args=[my_vm.pk, kept.pk]))
    assert response.status_code == 302 and Job.objects.filter(kind="vm_backup_delete").exists()


def test_another_tenants_vm_or_backup_is_404(as_customer, my_vm, their_vm, tmp_path):
    repo = repository(tmp_path)
    theirs = backup(their_vm, repo)
    for url in (
        reverse("ui:vm_backups", args=[their_vm.pk]),
        reverse("ui:vm_backup_create", args=[their_vm.pk]),
        reverse("ui:vm_backup_restore", args=[their_vm.pk, theirs.pk]),
        reverse("ui:vm_backup_restore", args=[my_vm.pk, theirs.pk]),
        reverse("ui:vm_backup_delete", args=[my_vm.pk, theirs.pk]),
    ):
        assert as_customer.get(url).status_code == 404, url
    assert as_customer.get(reverse("ui:backup_repository_list")).status_code == 404


def test_staff_list_and_add_repositories_and_never_see_a_password(as_admin, tmp_path):
    repository(tmp_path, name="old", state=RepositoryState.FAILED, state_reason="restic init failed: permission denied")
    page = as_admin.get(reverse("ui:backup_repository_list")).content.decode()
    assert "old" in page and "permission denied" in page and "secret-horse-42" not in page
    response = as_admin.post(
        reverse("ui:backup_repository_add"),
        {"name": "new", "kind": "local", "path": str(tmp_path / "new"), "password": "another-horse-7"},
    )
    job = Job.objects.get(kind="backup_repository_init")
    assert response.status_code == 302 and response.url == reverse("ui:job_detail", args=[job.pk])
    page = as_admin.get(reverse("ui:backup_repository_list")).content.decode()
    assert "new" in page and "Being initialized" in page and "another-horse-7" not in page
    page = as_admin.post(
        reverse("ui:backup_repository_add"),
        {"name": "short", "kind": "local", "path": str(tmp_path / "s"), "password": "short"},
    ).content.decode()
    assert "8-200 characters." in page and 'value="short"' not in page.split('name="password"')[1][:80]


def test_staff_add_an_sftp_repository_and_the_key_is_never_shown_back(as_admin, tmp_path, settings):
    from tests.backups.sshd import keygen

    settings.VMM_SSH_DIR = tmp_path / "ssh"
    page = as_admin.get(reverse("ui:backup_repository_add")).content.decode()
    panel_key = (settings.VMM_SSH_DIR / "id_ed25519.pub").read_text().strip()
    assert panel_key in page  # to authorize on the SFTP host
    key, _public = keygen(tmp_path / "own")
    data = {"name": "remote", "kind": "sftp", "host": "backup.example.net", "port": "22", "username": "",
            "path": "/srv/restic", "password": "another-horse-7", "ssh_private_key": key}  # fmt: skip
    page = as_admin.post(reverse("ui:backup_repository_add"), data).content.decode()
    assert 'data-error-for="username"' in page and "PRIVATE KEY" not in page
    response = as_admin.post(reverse("ui:backup_repository_add"), {**data, "username": "restic"})
    assert response.status_code == 302
    page = as_admin.get(reverse("ui:backup_repository_list")).content.decode()
    assert "sftp://restic@backup.example.net:22//srv/restic" in page and "PRIVATE KEY" not in page


def test_a_backup_schedule_set_shown_in_russian_and_stopped(as_customer, my_vm, other_customer):
    from django.test import Client

    other = Client()
    url = reverse("ui:vm_backup_schedule", args=[my_vm.pk])
    assert url in as_customer.get(reverse("ui:vm_backups", args=[my_vm.pk])).content.decode()
    page = as_customer.post(url, {"frequency": "weekly", "hour": "4", "weekday": "2", "keep_daily": "0",
                                  "keep_weekly": "0", "repository": ""}).content.decode()  # fmt: skip
    assert 'data-error-for="keep_daily"' in page
    data = {"frequency": "weekly", "hour": "4", "weekday": "2", "keep_daily": "3", "keep_weekly": "2", "repository": ""}
    response = as_customer.post(url, data)
    assert response.status_code == 302 and response.url == reverse("ui:vm_backups", args=[my_vm.pk])
    page = as_customer.get(response.url).content.decode()
    assert "Backed up weekly on Wednesday at 04:00 UTC" in page and "keeping 3 daily and 2 weekly" in page
    as_customer.post(reverse("ui:set_language"), {"language": "ru", "next": "/"})
    page = as_customer.get(response.url).content.decode()
    assert "Копия еженедельно: Среда, в 04:00 UTC" in page and "Изменить расписание" in page
    other.force_login(other_customer)
    assert other.get(url).status_code == 404
    assert other.post(reverse("ui:vm_backup_schedule_remove", args=[my_vm.pk])).status_code == 404
    response = as_customer.post(reverse("ui:vm_backup_schedule_remove", args=[my_vm.pk]))
    assert response.status_code == 302
    assert "Backed up weekly" not in as_customer.get(response.url).content.decode()


def test_the_delete_page_asks_whether_to_keep_the_backups_and_keeping_is_the_default(as_customer, my_vm, tmp_path):
    backup(my_vm, repository(tmp_path))
    url = reverse("ui:vm_delete", args=[my_vm.pk])
    page = as_customer.get(url).content.decode()
    assert "It has 1 backup: keep it or delete it below." in page
    assert 'value="true"' in page and 'value="false"' in page and "Delete them with the VM" in page
    as_customer.post(url, {"name": my_vm.name})
    assert Job.objects.get(kind="vm_delete").params == {"keep_backups": True}
    Job.objects.all().delete()
    type(my_vm).objects.filter(pk=my_vm.pk).update(current_job=None)
    as_customer.post(url, {"name": my_vm.name, "keep_backups": "false"})
    assert Job.objects.get(kind="vm_delete").params == {"keep_backups": False}
    as_customer.post(reverse("ui:set_language"), {"language": "ru", "next": "/"})
    page = as_customer.get(url).content.decode()
    assert "Удалить их вместе с ВМ" in page


def test_the_backups_of_deleted_vms_page_lists_them_for_their_owner_with_new_vm_and_delete(
    as_customer, my_vm, their_vm, tmp_path, client, other_customer
):
    repo = repository(tmp_path)
    mine = backup(my_vm, repo, size_bytes=2**30)
    theirs = backup(their_vm, repo)
    Backup.objects.filter(pk__in=[mine.pk, theirs.pk]).update(vm=None)
    page = as_customer.get(reverse("ui:vm_list")).content.decode()
    assert reverse("ui:kept_backup_list") in page  # in the menu
    page = as_customer.get(reverse("ui:kept_backup_list")).content.decode()
    assert f'data-kept-backup="{mine.pk}"' in page and f'data-kept-backup="{theirs.pk}"' not in page
    assert reverse("ui:backup_new_vm", args=[mine.pk]) in page
    assert reverse("ui:kept_backup_delete", args=[mine.pk]) in page
    page = as_customer.get(reverse("ui:backup_new_vm", args=[mine.pk])).content.decode()
    assert "A new VM with the disk of mine-1" in page and 'name="start"' in page and 'name="host"' not in page
    assert as_customer.get(reverse("ui:backup_new_vm", args=[theirs.pk])).status_code == 404
    assert as_customer.get(reverse("ui:kept_backup_delete", args=[theirs.pk])).status_code == 404
    response = as_customer.post(reverse("ui:kept_backup_delete", args=[mine.pk]))
    job = Job.objects.get(kind="backup_delete")
    assert response["Location"] == reverse("ui:job_detail", args=[job.pk])
    as_customer.post(reverse("ui:set_language"), {"language": "ru", "next": "/"})
    page = as_customer.get(reverse("ui:kept_backup_list")).content.decode()
    assert "Резервные копии удалённых ВМ" in page


def test_a_plan_page_sets_the_backup_schedule_of_its_new_vms(as_admin):
    from apps.accounts.plans import Plan

    page = as_admin.get(reverse("ui:plan_create")).content.decode()
    assert 'name="backup_frequency"' in page and "No scheduled backups" in page
    data = {"name": "nightly", "vcpus": 1, "memory_mb": 1024, "disk_gb": 10, "is_active": "on",
            "backup_frequency": "daily", "backup_hour": 2, "backup_weekday": 6, "backup_keep_daily": 5,
            "backup_keep_weekly": 0}  # fmt: skip
    assert as_admin.post(reverse("ui:plan_create"), data).status_code == 302
    plan = Plan.objects.get(name="nightly")
    assert (plan.backup_frequency, plan.backup_hour, plan.backup_keep_daily) == ("daily", 2, 5)


def test_the_owner_is_offered_a_file_out_of_a_ready_backup_in_english_and_russian(
    as_customer, my_vm, tmp_path, admin_user, client
):
    repo = repository(tmp_path)
    ready = backup(my_vm, repo)
    busy = backup(my_vm, repo, state=BackupState.CREATING)
    page = as_customer.get(reverse("ui:vm_backups", args=[my_vm.pk])).content.decode()
    assert reverse("ui:backup_file_extract", args=[ready.pk]) in page
    assert reverse("ui:backup_file_extract", args=[busy.pk]) not in page
    assert reverse("ui:backup_file_list") in page
    form = as_customer.get(reverse("ui:backup_file_extract", args=[ready.pk])).content.decode()
    assert "Path of the file or folder" in form and "a folder is packed as a .tar.gz of its contents" in form
    as_customer.post(reverse("ui:set_language"), {"language": "ru", "next": "/"})
    form = as_customer.get(reverse("ui:backup_file_extract", args=[ready.pk])).content.decode()
    assert "Извлечь файлы из резервной копии" in form and "Путь к файлу или папке" in form
    listing = as_customer.get(reverse("ui:backup_file_list")).content.decode()
    assert "Нет файлов, извлечённых из резервных копий." in listing
    client.force_login(admin_user)  # staff see the backups, not the files' action
    page = client.get(reverse("ui:vm_backups", args=[my_vm.pk])).content.decode()
    assert reverse("ui:backup_file_extract", args=[ready.pk]) not in page
    assert client.get(reverse("ui:backup_file_extract", args=[ready.pk])).status_code == 403
