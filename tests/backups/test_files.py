"""Files from a backup (docs/backups.md, "Files from a backup"): the rules of
apps.backups.files (the VM's owner only, the path's shape, a ready backup, the download
area's quota per user), the download (the owner's only, an attachment that is never sniffed,
a directory's as `<name>.tar.gz`, gone once expired) and the housekeeping that deletes
expired files; the job on a real restic repository failing early (the backup's data is
gone) with the scratch disk deleted, the file failed with the reason and the backup ready
again. The real extraction with
libguestfs: tests/backups/test_file_real.py."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from apps.backups import files
from apps.backups.models import (
    Backup,
    BackupFile,
    BackupFileKind,
    BackupFileState,
    BackupRepository,
    BackupState,
    RepositoryState,
)
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.vms.models import VirtualMachine, VmStatus
from tests.api.conftest import client_for


@pytest.fixture
def area(settings, tmp_path):
    settings.VMM_BACKUP_FILES_DIR = tmp_path / "files"
    settings.VMM_WORK_DIR = tmp_path / "work"
    settings.VMM_RESTIC_CACHE_DIR = tmp_path / "cache"
    return settings.VMM_BACKUP_FILES_DIR


@pytest.fixture
def world(customer, test_host, tmp_path, area):
    repository = BackupRepository.objects.create(
        name="local", path=str(tmp_path / "repo"), password="x" * 12, state=RepositoryState.READY
    )
    vm = VirtualMachine.objects.create(name="web-1", owner=customer, host=test_host, status=VmStatus.ACTIVE)
    backup = Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=customer, repository=repository, state=BackupState.READY,
        restic_snapshot_id="a" * 64, filename=f"vm-{vm.pk}-vda.raw", size_bytes=2**20,
    )  # fmt: skip
    kept = Backup.objects.create(
        vm=None, vm_name="gone", owner=customer, repository=repository, state=BackupState.READY,
        restic_snapshot_id="b" * 64, filename="vm-0-vda.raw", size_bytes=2**20,
    )  # fmt: skip
    return vm, backup, kept


def ready_file(owner, data=b"hello\n", hours=1, name="/etc/hostname", kind=BackupFileKind.FILE):
    row = BackupFile.objects.create(
        owner=owner, vm_name="web-1", path=name, kind=kind, state=BackupFileState.READY, size_bytes=len(data),
        expires_at=timezone.now() + datetime.timedelta(hours=hours),
    )  # fmt: skip
    files.stored_path(row).parent.mkdir(parents=True)
    files.stored_path(row).write_bytes(data)
    return row


def test_only_the_vms_owner_takes_a_file_out_of_its_backups(
    world, customer, reseller, admin_user, other_customer, django_capture_on_commit_callbacks
):
    vm, backup, kept = world
    for actor in (reseller, admin_user):  # they see the backup, its files are the customer's
        with pytest.raises(PermissionDenied):
            files.extract_file(backup, path="/etc/hosts", actor=actor)
        with pytest.raises(PermissionDenied):
            files.extract_file(kept, path="/etc/hosts", actor=actor)
    with pytest.raises(Http404):
        files.extract_file(backup, path="/etc/hosts", actor=other_customer)
    assert not BackupFile.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        backup_file, job = files.extract_file(backup, path="/etc/hosts", actor=customer)
    assert job.kind == "backup_file_extract" and job.owner == customer and job.params == {"backup_id": backup.pk}
    assert (backup_file.owner, backup_file.state, backup_file.path) == (customer, "extracting", "/etc/hosts")
    backup.refresh_from_db()
    assert backup.state == BackupState.RESTORING  # not deleted or restored while it is read
    with django_capture_on_commit_callbacks(execute=False):
        from_kept, _job = files.extract_file(kept, path="/etc/hosts", actor=customer)  # a deleted VM's: its owner
    assert from_kept.vm_name == "gone"


@pytest.mark.parametrize(
    "path",
    [
        "",
        "etc/hosts",
        "//",
        "//etc",
        "/etc/",
        "/etc//hosts",
        "/etc/./hosts",
        "/etc/../etc/hosts",
        "/a\x00b",
        "/a\nb",
        "/" + "x" * 1024,
        7,
        None,
    ],
)
def test_the_path_must_be_absolute_normalized_and_plain(world, customer, path):
    _vm, backup, _kept = world
    with pytest.raises(ValidationError) as exc:
        files.extract_file(backup, path=path, actor=customer)
    assert set(exc.value.message_dict) == {"path"}
    assert not BackupFile.objects.exists()
    backup.refresh_from_db()
    assert backup.state == BackupState.READY


@pytest.mark.parametrize("path", ["/etc/nginx", "/"])
def test_a_directory_or_the_whole_tree_may_be_asked_for(world, customer, path, django_capture_on_commit_callbacks):
    _vm, backup, _kept = world
    with django_capture_on_commit_callbacks(execute=False):
        row, job = files.extract_file(backup, path=path, actor=customer)
    assert (row.path, row.kind, row.state) == (path, "", BackupFileState.EXTRACTING)  # the job finds out what it is
    assert job.kind == "backup_file_extract"


def test_a_directory_downloads_as_a_tar_gz_named_after_it(world, customer, client):
    app = ready_file(customer, b"\x1f\x8bpacked", name="/var/www/app", kind=BackupFileKind.DIRECTORY)
    whole = ready_file(customer, b"\x1f\x8bpacked", name="/", kind=BackupFileKind.DIRECTORY)
    api = client_for(customer)
    response = api.get(f"/api/v1/backup-files/{app.pk}/download/")
    assert response["Content-Disposition"] == 'attachment; filename="app.tar.gz"'
    assert b"".join(response.streaming_content) == b"\x1f\x8bpacked"
    assert api.get(f"/api/v1/backup-files/{whole.pk}/").json()["name"] == "root.tar.gz"
    listed = {f["id"]: (f["kind"], f["name"]) for f in api.get("/api/v1/backup-files/").json()["results"]}
    assert listed == {app.pk: ("directory", "app.tar.gz"), whole.pk: ("directory", "root.tar.gz")}
    client.force_login(customer)
    response = client.get(reverse("ui:backup_file_download", args=[app.pk]))
    assert 'filename="app.tar.gz"' in response["Content-Disposition"]
    page = client.get(reverse("ui:backup_file_detail", args=[app.pk])).content.decode()
    assert 'data-backup-file-kind="directory"' in page and "tar -xzpf app.tar.gz -C /var/www/app" in page


def test_only_a_ready_backup_is_read(world, customer):
    _vm, backup, _kept = world
    for state in (BackupState.CREATING, BackupState.RESTORING, BackupState.DELETING, BackupState.FAILED):
        Backup.objects.filter(pk=backup.pk).update(state=state)
        with pytest.raises(ValidationError) as exc:
            files.extract_file(backup, path="/etc/hosts", actor=customer)
        assert set(exc.value.message_dict) == {"backup"}
    assert not BackupFile.objects.exists()


def test_the_download_area_holds_a_few_files_per_user(world, customer, settings, django_capture_on_commit_callbacks):
    _vm, backup, _kept = world
    settings.VMM_BACKUP_FILES_PER_USER = 2
    ready_file(customer)
    ready_file(customer, hours=-1)  # expired: does not count
    BackupFile.objects.create(owner=customer, vm_name="x", path="/x", state=BackupFileState.FAILED)
    with django_capture_on_commit_callbacks(execute=False):
        files.extract_file(backup, path="/etc/hosts", actor=customer)
    Backup.objects.filter(pk=backup.pk).update(state=BackupState.READY)
    with pytest.raises(ValidationError) as exc:
        files.extract_file(backup, path="/etc/passwd", actor=customer)
    assert set(exc.value.message_dict) == {"quota"}
    assert exc.value.error_dict["quota"][0].code == "quota_exceeded"
    assert "VMM_BACKUP_FILES_PER_USER" in exc.value.message_dict["quota"][0]


def test_the_owner_downloads_the_file_and_nobody_else_sees_it(world, customer, reseller, admin_user, other_customer):
    row = ready_file(customer, b"<html><script>alert(1)</script>")
    response = client_for(customer).get(f"/api/v1/backup-files/{row.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<html><script>alert(1)</script>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'attachment; filename="hostname"'
    listed = client_for(customer).get("/api/v1/backup-files/").json()["results"]
    assert [(f["id"], f["path"], f["kind"], f["name"], f["state"], f["size_bytes"]) for f in listed] == [
        (row.pk, "/etc/hostname", "file", "hostname", "ready", 31)
    ]
    for user in (reseller, admin_user, other_customer):
        client = client_for(user)
        assert client.get(f"/api/v1/backup-files/{row.pk}/download/").status_code == 404
        assert client.get(f"/api/v1/backup-files/{row.pk}/").status_code == 404
        assert client.get("/api/v1/backup-files/").json()["results"] == []
    assert client_for(None).get(f"/api/v1/backup-files/{row.pk}/download/").status_code == 401


def test_the_web_ui_download_is_the_same_file(world, customer, client):
    row = ready_file(customer, b"\x00binary\xff")
    client.force_login(customer)
    response = client.get(reverse("ui:backup_file_download", args=[row.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\x00binary\xff"
    assert response["X-Content-Type-Options"] == "nosniff" and "attachment" in response["Content-Disposition"]
    page = client.get(reverse("ui:backup_file_list")).content.decode()
    assert "/etc/hostname" in page and reverse("ui:backup_file_download", args=[row.pk]) in page


def test_an_expired_file_is_gone_and_the_housekeeping_deletes_it(world, customer, area, client):
    row = ready_file(customer, hours=-1)
    fresh = ready_file(customer, name="/etc/fresh")
    stray = area / "999999"
    stray.mkdir()
    (stray / "data").write_bytes(b"left by a killed job")
    response = client_for(customer).get(f"/api/v1/backup-files/{row.pk}/download/")
    assert response.status_code == 410
    assert response.json()["errors"][0]["field"] == "file" and "expired" in response.json()["errors"][0]["message"]
    files.remove_expired()
    row.refresh_from_db()
    assert row.state == BackupFileState.EXPIRED
    assert not files.stored_path(row).parent.exists() and not stray.exists()
    assert files.stored_path(fresh).read_bytes() == b"hello\n"
    assert client_for(customer).get(f"/api/v1/backup-files/{row.pk}/download/").status_code == 410
    client.force_login(customer)
    page = client.get(reverse("ui:backup_file_download", args=[row.pk]))
    assert page.status_code == 410 and "expired" in page.content.decode()
    files.stored_path(fresh).unlink()  # its data lost: gone too
    assert client_for(customer).get(f"/api/v1/backup-files/{fresh.pk}/download/").status_code == 410


def test_a_failed_extraction_deletes_the_scratch_disk_and_frees_the_backup(
    world, customer, tmp_path, settings, django_capture_on_commit_callbacks
):
    """The backup's restic snapshot is not in the repository (a real one, empty): the first
    step fails; nothing is left in the work folder or the download area."""
    from apps.backups import restic

    _vm, backup, _kept = world
    restic.init(backup.repository)
    with django_capture_on_commit_callbacks(execute=False):
        backup_file, job = files.extract_file(backup, path="/etc/hosts", actor=customer)
    runner.execute(job.pk)
    job.refresh_from_db()
    backup_file.refresh_from_db()
    backup.refresh_from_db()
    assert job.status == JobStatus.FAILED and "restic dump failed" in job.error
    steps = list(job.steps.order_by("position").values_list("name", "status"))
    assert steps == [
        ("Fetch the backup's disk", "failed"),
        ("Take the file out", "skipped"),
        ("Remove the scratch disk", "succeeded"),
        ("Keep it for download", "skipped"),
    ]
    assert backup_file.state == BackupFileState.FAILED and "restic dump failed" in backup_file.error
    assert backup.state == BackupState.READY
    assert not (tmp_path / "work" / str(job.pk)).exists()
    assert not files.stored_path(backup_file).parent.exists()
    assert client_for(customer).get(f"/api/v1/backup-files/{backup_file.pk}/download/").status_code == 404
