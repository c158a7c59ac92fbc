"""/api/v1/backup-files/: the files and directories the caller took out of backups
(docs/backups.md, "Files from a backup"): list and read them, download one (`GET
.../<id>/download/`: the file's bytes, a directory as a .tar.gz, as an attachment) until it
expires (then 410). Only the file's owner sees it: 404 for
anyone else, staff included. Taking a file out is `POST /api/v1/vms/<id>/backups/<bid>/files/`
or `POST /api/v1/kept-backups/<bid>/files/` (202 with the file and its backup_file_extract
job). The rules are apps.backups.files' (the web UI calls the same functions)."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.api.base import ApiViewSet
from apps.api.errors import entry
from apps.api.fields import StrictCharField
from apps.backups import files
from apps.backups.models import BackupFile, BackupFileKind


class BackupFileSerializer(serializers.ModelSerializer):
    backup = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The backup it was taken out of (null once that is deleted)."
    )
    kind = serializers.ChoiceField(
        choices=["", *BackupFileKind.values],
        read_only=True,
        help_text="What the path is: `file`, or `directory` (downloaded as a .tar.gz of its contents); "
        "empty until the job has looked.",
    )
    name = serializers.CharField(read_only=True, help_text="What the download is saved as.")
    size_bytes = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The download's size (a directory: its .tar.gz)."
    )
    expires_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Until when it can be downloaded (set once it is ready)."
    )

    class Meta:
        model = BackupFile
        fields = ["id", "backup", "vm_name", "path", "kind", "name", "state", "size_bytes", "error"]
        fields += ["created_at", "expires_at"]
        read_only_fields = fields


class BackupFileRequestSerializer(serializers.Serializer):
    path = StrictCharField(
        max_length=files.PATH_MAX,
        trim_whitespace=False,
        help_text="The absolute path of a file or directory in the backed-up system, e.g. /etc/nginx/nginx.conf, "
        "or /var/www (a directory comes as a .tar.gz of its contents; / is the whole tree).",
    )


FileAccepted = inline_serializer("BackupFileAccepted", {"file": BackupFileSerializer(), "job": serializers.DictField()})


def gone(exc):
    body = {"errors": [entry("file", "gone", str(exc))]}
    return Response(body, status=status.HTTP_410_GONE)


class BackupFileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Files taken out of backups: list (newest first), read, download. The owner's only."""

    serializer_class = BackupFileSerializer
    queryset = BackupFile.objects.none()  # for the schema; requests use get_queryset()
    filter_backends = []
    http_method_names = ["get", "head", "options"]

    def get_queryset(self):
        return files.files_of(self.request.user)

    def get_object(self):
        return files.file_of(self.request.user, self.kwargs["pk"])

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            410: OpenApiResponse(description="The file expired and was deleted."),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The file's bytes (Content-Disposition: attachment), while it has not expired."""
        try:
            backup_file, data = files.open_download(request.user, pk)
        except files.FileGone as exc:
            return gone(exc)
        response = FileResponse(
            data, as_attachment=True, filename=backup_file.name, content_type="application/octet-stream"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
