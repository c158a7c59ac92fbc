"""SFTP repositories (docs/backups.md) against a real OpenSSH server (tests/backups/sshd.py:
Debian's sshd on a free port of 127.0.0.1, its own host key and authorized keys): the input
rules, `restic init` through the panel's job with the panel's own key (the host's key
recorded on first contact) and with a repository's own key and known_hosts (a wrong host
key or an unauthorized key fails the job with ssh's reason), restic's backup, dump, check
and forget over SFTP; and, on the local libvirtd (marker `libvirt`, no guest booted: a
defined, stopped VM with a small disk), the panel's backup, restore and delete jobs with the
repository over SFTP."""

import shlex
import subprocess

import pytest
from django.core.exceptions import ValidationError

from apps.backups import restic
from apps.backups.models import Backup, BackupRepository, BackupState, RepositoryKind, RepositoryState
from apps.backups.restore_new import restore_into_new_vm
from apps.backups.services import add_repository, authorized_key, create_backup, delete_backup, restore_backup
from apps.hosts import sshkey
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.vms.changes import delete_vm
from apps.vms.deploy.steps import domain_spec, seed_volume
from apps.vms.models import VirtualMachine, VmStatus
from tests.backups import sshd as throwaway
from tests.deploy import conftest as deploy

local_host = deploy.local_host  # the fixture: a host on the local libvirtd with a test pool of its own

PASSWORD = "correct horse battery"


@pytest.fixture
def server(tmp_path, settings):
    settings.VMM_SSH_DIR = tmp_path / "panel-ssh"
    settings.VMM_RESTIC_CACHE_DIR = tmp_path / "cache"
    settings.VMM_WORK_DIR = tmp_path / "work"
    server, proc = throwaway.start(tmp_path / "sshd")
    yield server
    throwaway.stop(proc)


def sftp_fields(server, path, **more):
    return {"kind": "sftp", "host": "127.0.0.1", "port": server.port, "username": server.user, "path": str(path),
            **more}  # fmt: skip


def initialized(capture, admin_user, name, **fields):
    with capture(execute=False):
        repository, job = add_repository(admin_user, name=name, password=PASSWORD, **fields)
    job = runner.execute(job.pk)
    repository.refresh_from_db()
    return repository, job


def test_the_input_of_an_sftp_repository_is_checked(admin_user, tmp_path):
    key, public = throwaway.keygen(tmp_path / "k")
    good = {"name": "s", "kind": "sftp", "host": "backup.example.net", "port": 22, "username": "restic",
            "path": "/srv/restic", "password": PASSWORD}  # fmt: skip
    for change, field in (
        ({"host": ""}, "host"),
        ({"host": "-oProxyCommand=x"}, "host"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"username": ""}, "username"),
        ({"username": "-l root"}, "username"),
        ({"path": "srv"}, "path"),
        ({"ssh_private_key": "not a key"}, "ssh_private_key"),
        ({"ssh_private_key": public}, "ssh_private_key"),
        ({"known_hosts": "backup.example.net garbage"}, "known_hosts"),
        ({"kind": "local", "host": "backup.example.net", "username": ""}, "host"),
    ):
        with pytest.raises(ValidationError) as exc:
            add_repository(admin_user, **{**good, **change})
        assert set(exc.value.message_dict) == {field}, change
    BackupRepository.objects.create(**{**good, "name": "taken", "state": RepositoryState.READY})
    with pytest.raises(ValidationError) as exc:  # the same place, written another way
        add_repository(admin_user, **{**good, "host": "BACKUP.example.net", "path": "/srv/restic/"})
    assert set(exc.value.message_dict) == {"path"}
    own = {**good, "name": "other port", "port": 2222, "ssh_private_key": key}
    repository, _job = add_repository(admin_user, **own)
    assert repository.ssh_public_key == public and authorized_key(repository) == public
    assert repository.location == "sftp://restic@backup.example.net:2222//srv/restic"


def test_an_sftp_repository_with_the_panels_key(server, admin_user, tmp_path, django_capture_on_commit_callbacks):
    server.authorize(sshkey.public_key())
    repository, job = initialized(
        django_capture_on_commit_callbacks, admin_user, "remote", **sftp_fields(server, tmp_path / "remote")
    )
    assert repository.state == RepositoryState.READY, repository.state_reason
    assert authorized_key(repository) == sshkey.public_key()
    assert (tmp_path / "remote" / "config").exists()  # made on the SSH server's side
    assert f"[127.0.0.1]:{server.port}" in sshkey.known_hosts_path().read_text()  # recorded on first contact

    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\x00" * 2**20 + b"marker" * 1000)
    summary = restic.backup_file(repository, disk, "vm-1-vda.raw", ["vm:1", "backup:1"])
    assert summary["total_bytes_processed"] == disk.stat().st_size
    (snapshot_id,) = restic.snapshot_ids(repository, "backup:1")
    back = tmp_path / "back.raw"
    assert restic.dump_to_file(repository, snapshot_id, "vm-1-vda.raw", back) == disk.stat().st_size
    assert back.read_bytes() == disk.read_bytes()
    restic.check(repository)
    restic.forget(repository, [snapshot_id])
    assert restic.snapshot_ids(repository, "vm:1") == []


def test_an_sftp_repository_with_its_own_key_and_known_hosts(
    server, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    key, public = throwaway.keygen(tmp_path / "own")
    server.authorize(public)
    fields = sftp_fields(server, tmp_path / "own-repo", ssh_private_key=key, known_hosts=server.host_key_line)
    repository, job = initialized(capture, admin_user, "own", **fields)
    assert repository.state == RepositoryState.READY, repository.state_reason
    assert not sshkey.known_hosts_path().exists()  # the repository's known_hosts, not the panel's

    _other, stranger = throwaway.keygen(tmp_path / "stranger")
    wrong_host_key = f"[127.0.0.1]:{server.port} {stranger.split()[0]} {stranger.split()[1]}"
    repository, job = initialized(
        capture, admin_user, "spoofed", **{**fields, "path": str(tmp_path / "x"), "known_hosts": wrong_host_key}
    )
    assert job.status == JobStatus.FAILED and repository.state == RepositoryState.FAILED
    assert "Host key verification failed" in repository.state_reason
    assert not (tmp_path / "x").exists()

    unauthorized, _ = throwaway.keygen(tmp_path / "unauthorized")
    repository, job = initialized(
        capture, admin_user, "refused", **{**fields, "path": str(tmp_path / "y"), "ssh_private_key": unauthorized}
    )
    assert repository.state == RepositoryState.FAILED and "Permission denied" in repository.state_reason
    assert PASSWORD not in repository.state_reason + job.error


def test_ssh_s_reason_is_heard_when_restic_passed_on_only_the_first_line_of_a_changed_key_s_banner():
    """restic 0.14 relays ssh's error lines only while it runs: with a changed host key it
    may give up after the banner's first line ("@@@..."). The reason is then asked of ssh
    itself (here a stand-in printing what ssh prints in that case)."""
    said_by_restic = (
        "restic cat config failed: subprocess ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
        "Fatal: unable to open repository at sftp://root@127.0.0.1:2222//srv/x: "
        "unable to start the sftp session, error: read |0: file already closed"
    )
    ssh = "printf '@@@@@@@@@@@\\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\\n" \
          "Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\\n" \
          "Host key verification failed.\\n' >&2; exit 255"  # fmt: skip
    explained = str(restic._explained(restic.ResticError(said_by_restic), shlex.join(["sh", "-c", ssh])))
    assert explained.startswith(said_by_restic)
    assert explained.endswith("subprocess ssh: Host key for [127.0.0.1]:2222 has changed and you have requested "
                              "strict checking. Host key verification failed.")  # fmt: skip
    # The banner's own lines are no reason: they are not kept as ssh's last words.
    failed = restic._fail("init", "subprocess ssh: @@@@@@@@\nsubprocess ssh: Permission denied (publickey).\n"
                                  "Fatal: unable to start the sftp session", 1)  # fmt: skip
    assert str(failed) == ("restic init failed: subprocess ssh: Permission denied (publickey).\n"
                           "Fatal: unable to start the sftp session")  # fmt: skip


@pytest.mark.libvirt
def test_a_vm_backed_up_to_and_restored_from_an_sftp_repository(
    server,
    admin_user,
    customer,
    local_host,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    """The panel's jobs with the repository over SFTP, on a stopped VM of the local libvirtd
    (never booted): its disk's data backed up, overwritten, restored, checked, restored into a
    new VM (left stopped, its disk read offline, then deleted), deleted."""
    capture = django_capture_on_commit_callbacks
    server.authorize(sshkey.public_key())
    repository, _job = initialized(capture, admin_user, "remote", **sftp_fields(server, tmp_path / "remote"))
    assert repository.state == RepositoryState.READY, repository.state_reason
    vm = VirtualMachine.objects.create(
        name="sftp-backed", owner=customer, host=local_host, status=VmStatus.ACTIVE, disk_gb=1
    )
    driver = hypervisor_for(local_host)
    disk = driver.create_volume(local_host.storage_pool, vm.disk_volume, 64 * 2**20, "qcow2")
    driver.define(domain_spec(vm, disk.path))

    def qemu_io(command, path):
        out = subprocess.run(
            ["qemu-io", "-f", "qcow2", "-c", command, path], capture_output=True, text=True, check=True
        )
        return out.stdout

    def finished(fn, *args, **kwargs):
        with capture(execute=True):
            job = fn(*args, **kwargs)
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error)
        return job

    try:
        qemu_io("write -P 0x5a 8M 1M", disk.path)
        finished(create_backup, vm, repository=repository, actor=customer)
        backup = Backup.objects.get(vm=vm)
        assert backup.state == BackupState.READY and backup.consistency == "stopped"
        assert backup.size_bytes == 64 * 2**20
        qemu_io("write -P 0x00 8M 1M", disk.path)

        job = finished(restore_backup, vm, backup, confirm=True, actor=customer)
        assert job.steps.get(name="Start the VM").detail == "left stopped, as it was"
        restored = driver.volume_info(local_host.storage_pool, vm.disk_volume).path
        assert "Pattern verification failed" not in qemu_io("read -P 0x5a 8M 1M", restored)
        restic.check(repository)

        # Into a new VM (as a cloud-init VM's backup: a seed, no appliance), left stopped.
        Backup.objects.filter(pk=backup.pk).update(guest_config="cloud-init")
        with capture(execute=True):
            copy, job = restore_into_new_vm(backup, name="sftp-copy", vcpus=1, memory_mb=256, start=False,
                                            actor=customer)  # fmt: skip
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, (job.error, [(s.name, s.detail) for s in job.steps.all()])
        copy.refresh_from_db()
        assert (copy.status, copy.power_state, copy.disk_gb) == (VmStatus.ACTIVE, "stopped", 1)
        new_disk = driver.volume_info(local_host.storage_pool, copy.disk_volume)
        assert new_disk.capacity_bytes == 2**30 and new_disk.backing_path is None
        assert driver.disk_source(copy.domain_name, inactive=True) == new_disk.path
        assert "Pattern verification failed" not in qemu_io("read -P 0x5a 8M 1M", new_disk.path)
        driver.volume_info(local_host.storage_pool, seed_volume(copy))
        assert Backup.objects.get(pk=backup.pk).state == BackupState.READY
        with capture(execute=True):
            gone = delete_vm(copy, actor=customer)
        gone.refresh_from_db()
        assert gone.status == JobStatus.SUCCEEDED, gone.error
        assert not [v for v in driver.list_volumes(local_host.storage_pool) if v.name.startswith(f"vmm-{copy.uuid}")]

        finished(delete_backup, vm, backup, actor=customer)
        assert not Backup.objects.exists() and restic.snapshot_ids(repository, f"vm:{vm.pk}") == []
    finally:
        driver.undefine(vm.domain_name)
        driver.delete_volume(local_host.storage_pool, vm.disk_volume)
    assert repository.kind == RepositoryKind.SFTP
