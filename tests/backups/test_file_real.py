"""Files from a backup, for real (docs/backups.md, "Files from a backup"): a small raw disk
with an ext4 filesystem (mkfs.ext4 -d: no VM booted, no libguestfs to make it) stored in a
real local restic repository the way vm_backup_create stores a disk (restic --stdin as
`vm-<id>-vda.raw`, tagged), then the owner asks for a file through the API: the
backup_file_extract job restores the disk from restic, takes the file out with libguestfs
(its appliance under TCG: the slow part) and keeps it; the API download gives the same
bytes, and the scratch disk is gone. Then a directory, asked for through an absolute
symbolic link: the link is followed inside the guest's filesystem (not the appliance's),
and the download is a .tar.gz of the directory's contents with their owners and modes. In
between, a path with a typo fails saying what the nearest directory holds. About 80-130 s
(three libguestfs launches) on a loaded machine."""

import io
import os
import subprocess
import tarfile

import pytest

from apps.backups import files, restic
from apps.backups.models import Backup, BackupFile, BackupFileState, BackupState
from apps.jobs import runner
from apps.jobs.models import Job, JobStatus
from apps.vms.models import VirtualMachine, VmStatus
from tests.api.conftest import client_for

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


def small_disk(tmp_path, marker):
    """A 16 MiB raw disk: one ext4 filesystem (no partition table, no operating system)
    holding /etc/app/marker.bin, /etc/app/conf.d/site.conf (owner 33, mode 0640), a relative
    link /etc/app/current -> conf.d, and /srv/app -> /etc/app (an absolute link)."""
    source = tmp_path / "root"
    (source / "etc" / "app" / "conf.d").mkdir(parents=True)
    (source / "srv").mkdir()
    (source / "etc" / "app" / "marker.bin").write_bytes(marker)
    site = source / "etc" / "app" / "conf.d" / "site.conf"
    site.write_text("listen 80;\n")
    os.chown(site, 33, 33)
    site.chmod(0o640)
    (source / "etc" / "app" / "current").symlink_to("conf.d")
    (source / "srv" / "app").symlink_to("/etc/app")
    disk = tmp_path / "disk.raw"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(source), str(disk), "16M"], check=True)
    return disk


def extract(client, vm, backup, path):
    response = client.post(f"/api/v1/vms/{vm.pk}/backups/{backup.pk}/files/", {"path": path}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    runner.execute(body["job"]["id"])
    return BackupFile.objects.get(pk=body["file"]["id"]), Job.objects.get(pk=body["job"]["id"])


def test_the_owner_downloads_a_file_taken_out_of_a_real_backup(repository, customer, test_host, tmp_path):
    marker = os.urandom(70_000) + b"the marker's end\n"
    disk = small_disk(tmp_path, marker)
    vm = VirtualMachine.objects.create(name="files", owner=customer, host=test_host, status=VmStatus.ACTIVE)
    backup = Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=customer, repository=repository, filename=f"vm-{vm.pk}-vda.raw"
    )
    summary = restic.backup_file(repository, disk, backup.filename, [f"vm:{vm.pk}", backup.tag])
    Backup.objects.filter(pk=backup.pk).update(
        state=BackupState.READY, restic_snapshot_id=summary["snapshot_id"], size_bytes=disk.stat().st_size
    )
    disk.unlink()
    client = client_for(customer)

    backup_file, job = extract(client, vm, backup, "/etc/app/marker.bin")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert backup_file.state == BackupFileState.READY and backup_file.size_bytes == len(marker)
    assert not (tmp_path / "work" / str(job.pk)).exists()  # the scratch disk is gone
    detail = job.steps.get(name="Take the file out").detail
    assert "no operating system found" in detail, detail
    response = client.get(f"/api/v1/backup-files/{backup_file.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == marker
    assert response["Content-Disposition"] == 'attachment; filename="marker.bin"'
    assert files.stored_path(backup_file).stat().st_mode & 0o777 == 0o600
    backup.refresh_from_db()
    assert backup.state == BackupState.READY

    missing, job = extract(client, vm, backup, "/etc/ap/marker.bin")  # a typo: what is there is said
    assert job.status == JobStatus.FAILED
    assert "/etc/ap/marker.bin: no such file or directory in the backup; /etc holds: app" in job.error, job.error
    missing.refresh_from_db()
    assert missing.state == BackupFileState.FAILED and "/etc holds: app" in missing.error
    assert not (tmp_path / "work" / str(job.pk)).exists()

    folder, job = extract(client, vm, backup, "/srv/app")
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert "/srv/app (at /etc/app): a directory, packed as a .tar.gz" in job.steps.get(name="Take the file out").detail
    folder.refresh_from_db()
    assert (folder.kind, folder.name, folder.state) == ("directory", "app.tar.gz", BackupFileState.READY)
    response = client.get(f"/api/v1/backup-files/{folder.pk}/download/")
    assert response["Content-Disposition"] == 'attachment; filename="app.tar.gz"'
    packed = b"".join(response.streaming_content)
    assert len(packed) == folder.size_bytes
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as archive:
        entries = {member.name.removeprefix("./"): member for member in archive.getmembers()}
        assert archive.extractfile(entries["marker.bin"]).read() == marker
        site = entries["conf.d/site.conf"]
        assert archive.extractfile(site).read() == b"listen 80;\n"
        assert (site.uid, site.gid, site.mode) == (33, 33, 0o640)
        assert entries["current"].issym() and entries["current"].linkname == "conf.d"
    assert not (tmp_path / "work" / str(job.pk)).exists()
    backup.refresh_from_db()
    assert backup.state == BackupState.READY
