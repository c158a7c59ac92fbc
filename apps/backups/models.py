"""Backups (docs/backups.md): restic repositories the panel stores VM disks in, and one row
per backup of a VM's disk (a restic snapshot in one repository)."""

import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.vms.models import SnapshotConsistency


class RepositoryKind(models.TextChoices):
    """Where restic keeps the data: a directory on the workers' machine, or one on another
    machine reached over SSH (restic's sftp backend)."""

    LOCAL = "local", _("Local directory")
    SFTP = "sftp", _("SFTP (a directory over SSH)")


class RepositoryState(models.TextChoices):
    INITIALIZING = "initializing", _("Being initialized")
    READY = "ready", pgettext_lazy("repository state", "Ready")
    FAILED = "failed", pgettext_lazy("repository state", "Failed")


class BackupRepository(models.Model):
    """A restic repository. `path` is a directory on the machine that runs the panel's
    workers (kind `local`) or on `host` reached over SSH as `username` (kind `sftp`: the
    panel's SSH key unless the repository has its own `ssh_private_key`; the host's key
    checked against `known_hosts` when given, else recorded on first contact in the panel's
    known_hosts). The password encrypts the repository: the panel keeps it (and passes it to
    restic in its environment), never shows it; losing it loses the backups. The private
    key is never shown either (`ssh_public_key` is its public half)."""

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=RepositoryKind.choices, default=RepositoryKind.LOCAL)
    path = models.CharField(
        max_length=500, help_text="An absolute directory on the panel's machine (local) or on the SFTP host."
    )
    host = models.CharField(max_length=253, blank=True)
    port = models.PositiveIntegerField(default=22)
    username = models.CharField(max_length=32, blank=True)
    password = models.CharField(max_length=200)
    ssh_private_key = models.TextField(blank=True)
    ssh_public_key = models.CharField(max_length=1000, blank=True)
    known_hosts = models.TextField(blank=True)
    state = models.CharField(max_length=12, choices=RepositoryState.choices, default=RepositoryState.INITIALIZING)
    state_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "backup repository"
        verbose_name_plural = "backup repositories"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RepositoryKind.values), name="repository_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=RepositoryState.values), name="repository_state_valid"),
            models.UniqueConstraint(fields=["kind", "host", "port", "path"], name="repository_location_unique"),
        ]

    def __str__(self):
        return self.name

    @property
    def location(self):
        """What restic calls the repository (its `-r`)."""
        if self.kind == RepositoryKind.SFTP:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"sftp://{self.username}@{host}:{self.port}/{self.path}"
        return self.path

    def clean(self):
        super().clean()
        if not os.path.isabs(self.path or ""):
            raise ValidationError({"path": "An absolute path."})


class BackupState(models.TextChoices):
    CREATING = "creating", _("Being taken")
    READY = "ready", pgettext_lazy("backup state", "Ready")
    RESTORING = "restoring", _("Being restored")
    DELETING = "deleting", _("Being deleted")
    FAILED = "failed", pgettext_lazy("backup state", "Failed")


# How the disk's copy was taken: the same as for snapshots.
BackupConsistency = SnapshotConsistency


class BackupKind(models.TextChoices):
    """Whether the host copied the whole disk (`full`) or only what changed since the
    checkpoint of an earlier backup (`incremental`; docs/backups.md). Either way the restic
    snapshot holds the whole disk's raw data."""

    FULL = "full", pgettext_lazy("backup kind", "Full")
    INCREMENTAL = "incremental", pgettext_lazy("backup kind", "Incremental")


class Backup(models.Model):
    """One copy of a VM's whole disk (its raw data) in a repository: a restic snapshot tagged
    `vm:<id>` and `backup:<id>`. Kept when the VM is deleted with `keep_backups` (`vm` empty;
    its name and owner stay: a backup of a deleted VM, listed for its owner, restorable into
    a new VM); a repository with backups cannot be deleted."""

    vm = models.ForeignKey(
        "vms.VirtualMachine", null=True, blank=True, on_delete=models.SET_NULL, related_name="backups"
    )
    vm_name = models.CharField(max_length=64)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="backups")
    repository = models.ForeignKey(BackupRepository, on_delete=models.PROTECT, related_name="backups")
    state = models.CharField(max_length=9, choices=BackupState.choices, default=BackupState.CREATING)
    consistency = models.CharField(max_length=7, choices=BackupConsistency.choices, default=BackupConsistency.UNKNOWN)
    restic_snapshot_id = models.CharField(max_length=64, blank=True)
    # The disk's data inside the restic snapshot (`vm-<vm id>-vda.raw`).
    filename = models.CharField(max_length=100)
    # The disk's virtual size (what a restore writes back), and what the repository grew by
    # (after deduplication and compression: restic's data_added).
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    added_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Taken by the VM's schedule (tagged `scheduled`): only these are forgotten by its retention.
    scheduled = models.BooleanField(default=False)
    kind = models.CharField(max_length=11, choices=BackupKind.choices, default=BackupKind.FULL)
    # The libvirt checkpoint (`vmm-backup-<id>`) begun with this backup's copy: the next
    # backup copies only what changed since it. Emptied when a failed backup's is removed.
    checkpoint = models.CharField(max_length=64, blank=True)
    # An incremental backup's base: the backup whose checkpoint it started from and whose
    # restic data it completed with the changes.
    base = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What the copy fetched from the host (a full one: the disk's data; an incremental one:
    # only the changed blocks).
    read_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    # The image the VM was made from (a new VM restored from the backup says so too), and how
    # that image configured its guest when the backup was taken (images.GuestConfig:
    # `cloud-init` or `customize`; empty: unknown). A new VM restored from the backup is told
    # its own name and network the same way (docs/backups.md, "Restore into a new VM").
    image = models.ForeignKey("images.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    guest_config = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=BackupState.values), name="backup_state_valid"),
            models.CheckConstraint(
                condition=Q(consistency__in=BackupConsistency.values), name="backup_consistency_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="ready") | ~Q(restic_snapshot_id=""), name="backup_ready_has_snapshot"
            ),
            models.CheckConstraint(condition=Q(kind__in=BackupKind.values), name="backup_kind_valid"),
        ]

    def __str__(self):
        return f"backup {self.pk} of {self.vm_name}"

    @property
    def tag(self):
        return f"backup:{self.pk}"

    @property
    def checkpoint_name(self):
        """The name of the libvirt checkpoint this backup's copy begins (when the VM runs)."""
        return f"vmm-backup-{self.pk}"


class ScheduleFrequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class BackupSchedule(models.Model):
    """A VM's scheduled backups (docs/backups.md, "Schedules and retention"): daily or weekly
    at `hour` UTC (weekly: on `weekday`, 0 Monday), into `repository` (empty: the first
    ready one), then restic's retention: the newest backup of each of the last `keep_daily`
    days and `keep_weekly` weeks of the VM's scheduled backups is kept, the others forgotten
    and pruned. The jobs reconciler's housekeeping starts each one when `next_run_at` comes;
    a failed one is tried once more at `retry_at`; a failed retry is kept as the last
    failure (shown on the VM's pages and in the API) until a scheduled backup succeeds."""

    vm = models.OneToOneField("vms.VirtualMachine", on_delete=models.CASCADE, related_name="backup_schedule")
    repository = models.ForeignKey(
        BackupRepository, null=True, blank=True, on_delete=models.PROTECT, related_name="schedules"
    )
    frequency = models.CharField(max_length=6, choices=ScheduleFrequency.choices, default=ScheduleFrequency.DAILY)
    hour = models.PositiveSmallIntegerField(default=3)
    weekday = models.PositiveSmallIntegerField(default=6)
    keep_daily = models.PositiveSmallIntegerField(default=7)
    keep_weekly = models.PositiveSmallIntegerField(default=4)
    next_run_at = models.DateTimeField()
    retry_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=ScheduleFrequency.values), name="schedule_frequency_valid"
            ),
            models.CheckConstraint(condition=Q(hour__lte=23) & Q(weekday__lte=6), name="schedule_time_valid"),
        ]

    def __str__(self):
        return f"backup schedule of {self.vm}"


class BackupFileState(models.TextChoices):
    EXTRACTING = "extracting", _("Being taken out")
    READY = "ready", pgettext_lazy("backup file state", "Ready to download")
    FAILED = "failed", pgettext_lazy("backup file state", "Failed")
    EXPIRED = "expired", _("Expired")


class BackupFileKind(models.TextChoices):
    FILE = "file", pgettext_lazy("backup file kind", "File")
    DIRECTORY = "directory", pgettext_lazy("backup file kind", "Folder (.tar.gz)")


class BackupFile(models.Model):
    """One file or directory taken out of a backup for its owner to download (docs/backups.md,
    "Files from a backup"): the `backup_file_extract` job restores the backup's disk to a
    scratch file, takes `path` out of it with libguestfs (a directory packed as a .tar.gz) and
    keeps it in the panel's private download area (`VMM_BACKUP_FILES_DIR/<id>/`) until
    `expires_at`; then the jobs reconciler's housekeeping deletes it (`expired`). Only `owner`
    (the VM's owner) sees it. `kind` is known once the job has looked (blank before)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backup_files")
    # Kept when the backup is deleted: the file taken out stays downloadable until it expires.
    backup = models.ForeignKey(Backup, null=True, blank=True, on_delete=models.SET_NULL, related_name="files")
    vm_name = models.CharField(max_length=64)
    path = models.CharField(max_length=1024)
    kind = models.CharField(max_length=9, choices=BackupFileKind.choices, blank=True)
    state = models.CharField(max_length=10, choices=BackupFileState.choices, default=BackupFileState.EXTRACTING)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=BackupFileState.values), name="backup_file_state_valid"),
        ]

    def __str__(self):
        return f"{self.path} from a backup of {self.vm_name}"

    @property
    def name(self):
        """What a download is saved as: the file's own name; a directory's name (`root` for
        `/`) with `.tar.gz`."""
        if self.kind == BackupFileKind.DIRECTORY:
            return f"{os.path.basename(self.path) or 'root'}.tar.gz"
        return os.path.basename(self.path) or "file"
