"""Backups (docs/backups.md): the one place that decides whether a backup repository may be
added, and whether a VM may be backed up, restored from a backup or have one deleted. Both
doors (API and web UI) call these functions.

- Repositories: staff only (PermissionDenied otherwise). `name` 1-64 characters, unique;
  `path` an absolute directory (on the panel's machine, or on the SFTP host), not taken by
  another repository at the same place; `password` 8-200 characters (kept by the panel,
  never shown). Kind `sftp` also needs `host` (a host name or IP address), `port` (1-65535,
  default 22) and `username`; optional `ssh_private_key` (without a passphrase; default:
  the panel's own key) and `known_hosts` (the host's keys; default: recorded on first
  contact). A local repository takes none of these. Adding one starts the
  `backup_repository_init` job (`restic init`).
- Backups of a VM: the VM's owner, its reseller and staff; anyone else gets Http404 (and a
  backup of another VM is Http404 too). Only an active VM whose host is reachable, not
  suspended for non-payment (deleting a backup only frees space: allowed), one job at a time
  on the VM (runner.submit raises TargetBusy). The repository must be ready; without one
  named the first ready repository is used.
- Quota: `max_backups` (apps.accounts.quotas), the owner's and its reseller's: every backup
  the owner holds counts (failed ones too, until deleted; the kept backups of its deleted
  VMs too: apps.backups.kept lists them for it), checked in the transaction that makes the
  new row (ValidationError on `quota`, code `quota_exceeded`, naming `max_backups`).
- Restore needs `confirm` (the VM's disk is replaced: everything written since the backup is
  lost), a ready backup of this VM, and a VM without snapshots (their layers sit on the disk
  the restore replaces: delete them first).
"""

import ipaddress
import os
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for, is_staff_user
from apps.backups import sftp
from apps.backups.models import Backup, BackupRepository, BackupState, RepositoryKind, RepositoryState
from apps.hosts import sshkey
from apps.jobs import runner
from apps.vms import quotas
from apps.vms.lost_host import check_host_reachable
from apps.vms.models import VmStatus
from apps.vms.rescue import check_not_in_rescue
from apps.vms.services import vm_operation
from apps.vms.suspension import check_not_suspended

NAME_MAX = 64
PASSWORD_MIN, PASSWORD_MAX = 8, 200
PATH_MAX = 500
INIT_OPERATION = "backup_repository_init"


def check_may_manage_repositories(actor):
    if actor is not None and not is_staff_user(actor):
        raise PermissionDenied(_("Only the provider's staff may manage backup repositories."))


LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){LABEL}(\.{LABEL})*$")
USER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
SFTP_ONLY = ("host", "username", "ssh_private_key", "known_hosts")


def _valid_host(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(HOST_NAME.match(host))


def _check_sftp(errors, host, port, username, ssh_private_key, known_hosts):
    """The SSH half of an SFTP repository's input; returns the key's public half."""
    if not _valid_host(host):
        errors["host"] = _("A host name or IP address.")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        errors["port"] = _("A port number, 1-65535.")
    if not USER_NAME.match(username):
        errors["username"] = _("A user name on the SFTP host (letters, digits, _ . -; up to 32).")
    public = ""
    if ssh_private_key:
        try:
            public = sftp.public_key_of(ssh_private_key)
        except ValueError:
            errors["ssh_private_key"] = _("An SSH private key (OpenSSH or PEM) without a passphrase.")
    if known_hosts:
        try:
            sftp.check_known_hosts(known_hosts)
        except ValueError:
            errors["known_hosts"] = _("Lines of a known_hosts file (the SFTP host's keys).")
    return public


def check_repository_input(
    *, name, path, password, kind=RepositoryKind.LOCAL, host="", port=22, username="", ssh_private_key="",
    known_hosts="",
):  # fmt: skip
    """The input of `add_repository`, checked; returns the BackupRepository fields to store
    (the SSH key's public half included). Raises ValidationError keyed by the field."""
    errors = {}
    name = (name or "").strip()
    path = (path or "").strip()
    host, username = (host or "").strip(), (username or "").strip()
    ssh_private_key, known_hosts = (ssh_private_key or "").strip(), (known_hosts or "").strip()
    port = 22 if port in (None, "") else port
    if not 1 <= len(name) <= NAME_MAX:
        errors["name"] = _("1-%(max)d characters.") % {"max": NAME_MAX}
    elif BackupRepository.objects.filter(name=name).exists():
        errors["name"] = ValidationError(_("A repository with this name exists."), code="unique")
    public = ""
    if kind not in RepositoryKind.values:
        errors["kind"] = _("One of: %(values)s.") % {"values": ", ".join(RepositoryKind.values)}
    elif kind == RepositoryKind.SFTP:
        public = _check_sftp(errors, host, port, username, ssh_private_key, known_hosts)
    else:
        given = {"host": host, "username": username, "ssh_private_key": ssh_private_key, "known_hosts": known_hosts}
        for field in SFTP_ONLY:
            if given[field]:
                errors[field] = _("Only for an SFTP repository.")
        if port != 22:
            errors["port"] = _("Only for an SFTP repository.")
    if not path.startswith("/") or len(path) > PATH_MAX or "\x00" in path:
        errors["path"] = _("An absolute directory.")
    else:
        path = os.path.normpath(path)
        if path == "/":
            errors["path"] = _("An absolute directory.")
        elif "kind" not in errors and _location_taken(kind, host, port, path):
            errors["path"] = ValidationError(_("Another repository uses this directory."), code="unique")
    if not PASSWORD_MIN <= len(password or "") <= PASSWORD_MAX:
        errors["password"] = _("%(min)d-%(max)d characters.") % {"min": PASSWORD_MIN, "max": PASSWORD_MAX}
    if errors:
        raise ValidationError(errors)
    return {
        "name": name, "kind": kind, "path": path, "host": host, "port": port, "username": username,
        "ssh_private_key": ssh_private_key, "ssh_public_key": public, "known_hosts": known_hosts,
    }  # fmt: skip


def _location_taken(kind, host, port, path):
    if kind == RepositoryKind.SFTP:
        return BackupRepository.objects.filter(kind=kind, host__iexact=host, port=port, path=path).exists()
    return BackupRepository.objects.filter(kind=kind, path=path).exists()


def add_repository(actor, *, password, request_id=None, **fields):
    """Add a restic repository (the fields of `check_repository_input`) and start its
    `backup_repository_init` job. Returns (repository, job)."""
    check_may_manage_repositories(actor)
    stored = check_repository_input(password=password, **fields)
    try:
        with transaction.atomic():
            repository = BackupRepository.objects.create(password=password, **stored)
            job = runner.submit(INIT_OPERATION, repository, actor=actor, request_id=request_id)
    except IntegrityError:
        raise ValidationError(
            {"name": ValidationError(_("A repository with this name exists."), code="unique")}
        ) from None
    return repository, job


def authorized_key(repository):
    """The public key to authorize on an SFTP repository's host (its own key's, else the
    panel's); empty for a local repository."""
    if repository.kind != RepositoryKind.SFTP:
        return ""
    return repository.ssh_public_key or panel_public_key()


def panel_public_key():
    """The panel's own SSH public key (apps.hosts.sshkey), or "" when it cannot be made."""
    try:
        return sshkey.public_key()
    except sshkey.SshKeyError:
        return ""


def check_actor(vm, actor):
    if actor is not None and not acts_for(actor, vm.owner):
        raise Http404(_("No such VM."))


def backup_of(vm, backup):
    """`vm`'s backup `backup` (a Backup or its id), else Http404."""
    key = getattr(backup, "pk", backup)
    found = Backup.objects.filter(pk=key, vm=vm).select_related("repository").first() if str(key).isdigit() else None
    if found is None:
        raise Http404(_("No such backup."))
    return found


def ready_repositories():
    return BackupRepository.objects.filter(state=RepositoryState.READY)


def pick_repository(repository):
    if repository in (None, ""):
        found = ready_repositories().order_by("pk").first()
        if found is None:
            raise ValidationError(
                {"repository": ValidationError(_("There is no backup repository yet."), code="required")}
            )
        return found
    key = getattr(repository, "pk", repository)
    found = BackupRepository.objects.filter(pk=key).first() if str(key).isdigit() else None
    if found is None:
        raise ValidationError({"repository": ValidationError(_("No such repository."), code="does_not_exist")})
    if found.state != RepositoryState.READY:
        raise ValidationError({"repository": _("This repository is not ready.")})
    return found


def _check_vm(vm):
    check_not_suspended(vm)
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM is backed up or restored.")})
    check_host_reachable(vm)


def create_backup(vm, *, repository=None, actor=None, request_id=None, scheduled=False, params=None):
    """Back up `vm`'s disk into `repository` (the vm_backup_create job; `scheduled`: the
    vm_backup_scheduled job of apps.backups.schedules, with `params`). Returns the job."""
    check_actor(vm, actor)
    _check_vm(vm)
    repository = pick_repository(repository)
    with transaction.atomic():
        backup = Backup.objects.create(
            vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, filename=f"vm-{vm.pk}-vda.raw",
            scheduled=scheduled, image_id=vm.image_id, guest_config=_guest_config(vm),
        )  # fmt: skip
        quotas.check_and_reserve(vm.owner, 0, 0, 0, vms=0, backups=1)
        kind = "vm_backup_scheduled" if scheduled else "vm_backup_create"
        params = {**(params or {}), "backup_id": backup.pk}
        return vm_operation(vm, kind, actor=actor, params=params, request_id=request_id)


def _guest_config(vm):
    """How the VM's guest was configured: its image's way (empty without an image)."""
    return vm.image.guest_config if vm.image_id is not None else ""


def restore_backup(vm, backup, *, confirm=False, actor=None, request_id=None):
    """Replace `vm`'s disk with `backup`'s (the vm_backup_restore job): the VM is powered off,
    its disk replaced, its addresses kept, and it is started again if it ran. Needs
    `confirm`. Returns the job."""
    check_actor(vm, actor)
    backup = backup_of(vm, backup)
    if not confirm:
        raise ValidationError(
            {
                "confirm": ValidationError(
                    _("Confirm the restore: the VM is powered off and everything written since the backup is lost."),
                    code="required",
                )
            }
        )
    _check_vm(vm)
    check_not_in_rescue(vm)
    if backup.state != BackupState.READY:
        raise ValidationError({"backup": _("Only a ready backup can be restored.")})
    if vm.snapshots.exists():
        raise ValidationError({"vm": _("This VM has snapshots: delete them before restoring a backup.")})
    with transaction.atomic():
        job = vm_operation(vm, "vm_backup_restore", actor=actor, params={"backup_id": backup.pk}, request_id=request_id)
        Backup.objects.filter(pk=backup.pk).update(state=BackupState.RESTORING)
        return job


def delete_backup(vm, backup, *, actor=None, request_id=None):
    """Delete `backup` (the vm_backup_delete job: restic forget and prune). Returns the job."""
    check_actor(vm, actor)
    backup = backup_of(vm, backup)
    if backup.state not in (BackupState.READY, BackupState.FAILED):
        raise ValidationError({"backup": _("This backup is busy: wait for its job to end.")})
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM is backed up or restored.")})
    with transaction.atomic():
        job = vm_operation(
            vm,
            "vm_backup_delete",
            actor=actor,
            params={"backup_id": backup.pk, "was": backup.state},
            request_id=request_id,
        )
        Backup.objects.filter(pk=backup.pk).update(state=BackupState.DELETING)
        return job
