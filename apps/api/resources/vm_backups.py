"""/api/v1/vms/<id>/backups/: a VM's backups (docs/backups.md). List and read them; take
one, restore one into the VM, delete one: 202 with the job. The rules are
apps.backups.services' (the web UI calls the same functions); this module parses shapes and
answers. Mixed into VmViewSet, so the VM is looked up (tenancy-scoped, 404 for another
tenant's) first.

/api/v1/backup-repositories/: restic repositories, staff only; the password and an SFTP
repository's private key are write-only (`ssh_public_key` is the key to authorize)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.api.base import ApiViewSet, JobLinkSerializer, accepted, job_link
from apps.api.fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from apps.api.idempotency import idempotent
from apps.api.permissions import IsStaff
from apps.api.resources.backup_files import BackupFileRequestSerializer, BackupFileSerializer, FileAccepted
from apps.api.resources.vm_inputs import NewVmFromBackupSerializer
from apps.backups import files, restore_new, schedules, services
from apps.backups.models import Backup, BackupRepository, BackupSchedule, RepositoryKind, ScheduleFrequency

JobAccepted = inline_serializer("BackupJobAccepted", {"job": serializers.DictField()})
BACKUP_ID = r"backups/(?P<backup_id>[0-9]{1,12})"


class BackupSerializer(serializers.ModelSerializer):
    size_bytes = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The disk's size (a restore writes it back)."
    )
    added_bytes = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="What the repository grew by (after deduplication and compression)."
    )
    duration_s = serializers.FloatField(read_only=True, allow_null=True, help_text="How long the backup took.")
    read_bytes = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="What the copy fetched from the host: the disk's data, or only the changed blocks (incremental).",
    )
    base = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="An incremental backup's base: the backup it started from."
    )

    class Meta:
        model = Backup
        fields = [
            "id", "vm", "repository", "state", "consistency", "kind", "base", "restic_snapshot_id", "size_bytes",
            "read_bytes", "added_bytes", "duration_s", "error", "scheduled", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class KeptBackupSerializer(BackupSerializer):
    """A backup of a deleted VM: its VM's name and owner stay."""

    vm_name = serializers.CharField(read_only=True, help_text="The deleted VM's name.")
    owner = serializers.IntegerField(source="owner_id", read_only=True)

    class Meta(BackupSerializer.Meta):
        fields = [*BackupSerializer.Meta.fields, "vm_name", "owner"]
        read_only_fields = fields


NewVmAccepted = inline_serializer(
    "NewVmFromBackupAccepted", {"vm": serializers.DictField(), "job": serializers.DictField()}
)


class BackupScheduleSerializer(serializers.ModelSerializer):
    frequency = StrictChoiceField(choices=ScheduleFrequency.choices)
    hour = StrictIntegerField(help_text="0-23, UTC.")
    weekday = StrictIntegerField(required=False, default=6, help_text="Weekly: 0 Monday ... 6 Sunday.")
    keep_daily = StrictIntegerField(help_text="Keep the newest scheduled backup of each of the last N days.")
    keep_weekly = StrictIntegerField(help_text="Keep the newest scheduled backup of each of the last N weeks.")
    repository = StrictIntegerField(
        required=False, allow_null=True, default=None, min_value=1, help_text="Default: the first ready one."
    )

    class Meta:
        model = BackupSchedule
        fields = [
            "frequency", "hour", "weekday", "keep_daily", "keep_weekly", "repository", "next_run_at", "retry_at",
            "last_run_at", "last_failure_at", "last_failure_reason",
        ]  # fmt: skip
        read_only_fields = ["next_run_at", "retry_at", "last_run_at", "last_failure_at", "last_failure_reason"]


class BackupScheduleOutSerializer(BackupScheduleSerializer):
    """A schedule as answered: its repository's id (the request's field is an id too)."""

    repository = serializers.IntegerField(source="repository_id", allow_null=True, read_only=True)


class BackupCreateSerializer(serializers.Serializer):
    repository = StrictIntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="The repository's id; default: the first ready one.",
    )


class BackupRestoreSerializer(serializers.Serializer):
    confirm = StrictBooleanField(
        required=False,
        default=False,
        help_text="Must be true: the VM is powered off and what it wrote since the backup is lost.",
    )


class BackupActions:
    """The backup routes of VmViewSet."""

    @extend_schema(
        request=None, responses={200: BackupScheduleOutSerializer}, operation_id="vms_backup_schedule_retrieve"
    )
    @action(detail=True, methods=["get"], url_path="backup-schedule")
    def backup_schedule(self, request, pk=None):
        """The VM's backup schedule and its last failure (404 when it has none)."""
        vm = self.get_object()
        schedule = BackupSchedule.objects.filter(vm=vm).first()
        if schedule is None:
            raise Http404("This VM has no backup schedule.")
        return Response(BackupScheduleOutSerializer(schedule).data)

    @extend_schema(
        request=BackupScheduleSerializer,
        responses={200: BackupScheduleOutSerializer},
        operation_id="vms_backup_schedule_set",
    )
    @backup_schedule.mapping.put
    @idempotent
    def set_backup_schedule(self, request, pk=None):
        """Set (or replace) the VM's backup schedule and retention."""
        vm = self.get_object()
        data = self._valid(BackupScheduleSerializer)
        schedule = schedules.set_schedule(vm, actor=request.user, **data)
        return Response(BackupScheduleOutSerializer(schedule).data)

    @extend_schema(request=None, responses={204: None}, operation_id="vms_backup_schedule_destroy")
    @backup_schedule.mapping.delete
    @idempotent
    def remove_backup_schedule(self, request, pk=None):
        """Stop the VM's scheduled backups (those taken stay): 204."""
        schedules.remove_schedule(self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: BackupSerializer(many=True)}, operation_id="vms_backups_list")
    @action(detail=True, methods=["get"], url_path="backups", filter_backends=[])
    def backups(self, request, pk=None):
        """The VM's backups, newest first (cursor-paginated like every list)."""
        vm = self.get_object()
        page = self.paginate_queryset(Backup.objects.filter(vm=vm))
        return self.get_paginated_response(BackupSerializer(page, many=True).data)

    @extend_schema(request=BackupCreateSerializer, responses={202: JobAccepted}, operation_id="vms_backups_create")
    @backups.mapping.post
    @idempotent
    def create_backup(self, request, pk=None):
        """Back the VM's disk up: 202 with the vm_backup_create job."""
        vm = self.get_object()
        data = self._valid(BackupCreateSerializer)
        job = services.create_backup(vm, repository=data["repository"], **self._who(request))
        return accepted(request, job)

    @extend_schema(request=None, responses={200: BackupSerializer}, operation_id="vms_backups_retrieve")
    @action(detail=True, methods=["get"], url_path=BACKUP_ID)
    def backup(self, request, pk=None, backup_id=None):
        """One backup of the VM."""
        vm = self.get_object()
        return Response(BackupSerializer(services.backup_of(vm, int(backup_id))).data)

    @extend_schema(request=None, responses={202: JobAccepted}, operation_id="vms_backups_destroy")
    @backup.mapping.delete
    @idempotent
    def delete_backup(self, request, pk=None, backup_id=None):
        """Delete a backup (restic forget and prune): 202 with the vm_backup_delete job."""
        vm = self.get_object()
        job = services.delete_backup(vm, int(backup_id), **self._who(request))
        return accepted(request, job)

    @extend_schema(request=BackupRestoreSerializer, responses={202: JobAccepted}, operation_id="vms_backups_restore")
    @action(detail=True, methods=["post"], url_path=BACKUP_ID + "/restore")
    @idempotent
    def restore_backup(self, request, pk=None, backup_id=None):
        """Restore a backup into the VM (`confirm`: true): 202 with the vm_backup_restore job."""
        vm = self.get_object()
        data = self._valid(BackupRestoreSerializer)
        job = services.restore_backup(vm, int(backup_id), confirm=data["confirm"], **self._who(request))
        return accepted(request, job)

    @extend_schema(request=NewVmFromBackupSerializer, responses={202: NewVmAccepted}, operation_id="vms_backups_new_vm")
    @action(detail=True, methods=["post"], url_path=BACKUP_ID + "/new-vm")
    @idempotent
    def backup_new_vm(self, request, pk=None, backup_id=None):
        """Restore a backup into a new VM, ordered like any VM: 202 with the VM and its
        vm_backup_restore_new job."""
        vm = self.get_object()
        backup = services.backup_of(vm, int(backup_id))
        data = self._valid(NewVmFromBackupSerializer)
        new_vm, job = restore_new.restore_into_new_vm(backup, **data, **self._who(request))
        return accepted(request, job, vm=self._vm_body(new_vm))

    @extend_schema(request=BackupFileRequestSerializer, responses={202: FileAccepted}, operation_id="vms_backups_files")
    @action(detail=True, methods=["post"], url_path=BACKUP_ID + "/files")
    @idempotent
    def backup_file(self, request, pk=None, backup_id=None):
        """Take one file out of a backup (the VM's owner only): 202 with the file (download it
        from /api/v1/backup-files/<id>/download/ once ready) and its backup_file_extract job."""
        vm = self.get_object()
        backup, _owner = files.backup_for_owner(request.user, services.backup_of(vm, int(backup_id)))
        data = self._valid(BackupFileRequestSerializer)
        backup_file, job = files.extract_file(backup, path=data["path"], **self._who(request))
        return accepted(request, job, file=BackupFileSerializer(backup_file).data)


class RepositorySerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=64)
    kind = StrictChoiceField(choices=RepositoryKind.choices, required=False, default=RepositoryKind.LOCAL)
    path = StrictCharField(max_length=500, help_text="An absolute directory on the panel's machine or the SFTP host.")
    host = StrictCharField(
        max_length=253, required=False, allow_blank=True, default="", help_text="SFTP: a host name or IP address."
    )
    port = StrictIntegerField(required=False, default=22, help_text="SFTP: the SSH port.")
    username = StrictCharField(
        max_length=32, required=False, allow_blank=True, default="", help_text="SFTP: the user to log in as."
    )
    password = StrictCharField(
        write_only=True, max_length=200, help_text="Encrypts the repository; kept by the panel, never shown again."
    )
    ssh_private_key = StrictCharField(
        write_only=True,
        required=False,
        allow_blank=True,
        default="",
        max_length=16000,
        trim_whitespace=False,
        help_text="SFTP: this repository's own private key (no passphrase), never shown again; "
        "default: the panel's own key.",
    )
    known_hosts = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=16000,
        trim_whitespace=False,
        help_text="SFTP: known_hosts lines of the host's keys; default: recorded on first contact.",
    )
    ssh_public_key = serializers.SerializerMethodField(
        help_text="SFTP: the public key to authorize on the host (the repository's own, else the panel's)."
    )

    class Meta:
        model = BackupRepository
        fields = [
            "id", "name", "kind", "path", "host", "port", "username", "password", "ssh_private_key", "known_hosts",
            "ssh_public_key", "state", "state_reason", "created_at",
        ]  # fmt: skip
        read_only_fields = ["state", "state_reason", "created_at"]
        validators = []  # a taken name or directory is for the service to say (one door)

    def get_ssh_public_key(self, repository) -> str:
        return services.authorized_key(repository)


RepositoryWithJob = inline_serializer(
    "BackupRepositoryWithJob", {"repository": RepositorySerializer(), "job": JobLinkSerializer()}
)


class RepositoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Backup repositories (staff): list, read, add (starts backup_repository_init)."""

    queryset = BackupRepository.objects.all()
    serializer_class = RepositorySerializer
    permission_classes = ApiViewSet.permission_classes + [IsStaff]
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(responses={201: RepositoryWithJob})
    @idempotent
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        repository, job = services.add_repository(request.user, request_id=self.request_id, **serializer.validated_data)
        body = {
            "repository": RepositorySerializer(repository, context=self.get_serializer_context()).data,
            "job": job_link(request, job),
        }
        return Response(body, status=status.HTTP_201_CREATED)
