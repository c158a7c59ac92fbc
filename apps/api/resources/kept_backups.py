"""/api/v1/kept-backups/: the backups of deleted VMs the caller may see (their owner, its
reseller, staff; docs/backups.md): list and read them, delete one (202 with the
backup_delete job), restore one into a new VM (202 with the VM and its
vm_backup_restore_new job). The rules are apps.backups.kept's and apps.backups.restore_new's
(the web UI calls the same functions)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action

from apps.api.base import ApiViewSet, accepted
from apps.api.idempotency import idempotent
from apps.api.resources.backup_files import BackupFileRequestSerializer, BackupFileSerializer, FileAccepted
from apps.api.resources.vm_backups import JobAccepted, KeptBackupSerializer, NewVmAccepted
from apps.api.resources.vm_inputs import NewVmFromBackupSerializer
from apps.api.resources.vms import VmSerializer
from apps.backups import files, kept, restore_new
from apps.backups.models import Backup
from apps.vms.selectors import visible_vms


class KeptBackupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Backups of deleted VMs: list (newest first), read, delete, restore into a new VM."""

    serializer_class = KeptBackupSerializer
    queryset = Backup.objects.none()  # for the schema; requests use get_queryset()
    filter_backends = []
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return kept.kept_backups(self.request.user)

    def get_object(self):
        return kept.kept_backup_of(self.request.user, self.kwargs["pk"])

    def _who(self, request):
        return {"actor": request.user, "request_id": self.request_id}

    @extend_schema(request=None, responses={202: JobAccepted})
    @idempotent
    def destroy(self, request, pk=None):
        """Delete the backup (restic forget and prune): 202 with the backup_delete job."""
        job = kept.delete_kept_backup(self.get_object(), **self._who(request))
        return accepted(request, job)

    @extend_schema(request=NewVmFromBackupSerializer, responses={202: NewVmAccepted})
    @action(detail=True, methods=["post"], url_path="new-vm")
    @idempotent
    def new_vm(self, request, pk=None):
        """Restore the backup into a new VM, ordered like any VM: 202 with the VM and its
        vm_backup_restore_new job."""
        backup = self.get_object()
        serializer = NewVmFromBackupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vm, job = restore_new.restore_into_new_vm(backup, **serializer.validated_data, **self._who(request))
        body = VmSerializer(visible_vms(request.user).get(pk=vm.pk), context=self.get_serializer_context()).data
        return accepted(request, job, vm=body)

    @extend_schema(request=BackupFileRequestSerializer, responses={202: FileAccepted})
    @action(detail=True, methods=["post"], url_path="files")
    @idempotent
    def files(self, request, pk=None):
        """Take one file out of the backup (its owner only): 202 with the file and its
        backup_file_extract job."""
        backup, _owner = files.backup_for_owner(request.user, self.get_object())
        serializer = BackupFileRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        backup_file, job = files.extract_file(backup, path=serializer.validated_data["path"], **self._who(request))
        return accepted(request, job, file=BackupFileSerializer(backup_file).data)
