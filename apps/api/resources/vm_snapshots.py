"""/api/v1/vms/<id>/snapshots/: a VM's snapshots (docs/snapshots.md). List and read them;
take one, revert to one, delete one: 202 with the job. The rules are apps.vms.snapshots'
(the web UI calls the same functions); this module parses shapes and answers. Mixed into
VmViewSet, so the VM is looked up (tenancy-scoped, 404 for another tenant's) first."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.api.base import accepted
from apps.api.fields import StrictBooleanField, StrictCharField
from apps.api.idempotency import idempotent
from apps.vms import snapshots
from apps.vms.models import Snapshot

JobAccepted = inline_serializer("SnapshotJobAccepted", {"job": serializers.DictField()})
SNAPSHOT_ID = r"snapshots/(?P<snapshot_id>[0-9]{1,12})"


class SnapshotSerializer(serializers.ModelSerializer):
    consistent = serializers.BooleanField(
        read_only=True, help_text="Taken with the guest's filesystems frozen, or with the VM stopped."
    )
    size_bytes = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="What the host holds for it, as of the VM's last snapshot job."
    )

    class Meta:
        model = Snapshot
        fields = [
            "id", "vm", "name", "description", "state", "consistency", "consistent", "parent", "size_bytes",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class SnapshotCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=64, help_text="1-64 letters, digits, dots, hyphens, underscores.")
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class SnapshotRevertSerializer(serializers.Serializer):
    confirm = StrictBooleanField(
        required=False,
        default=False,
        help_text="Must be true: the VM is powered off and what it wrote since the snapshot is lost.",
    )


class SnapshotActions:
    """The snapshot routes of VmViewSet."""

    @extend_schema(request=None, responses={200: SnapshotSerializer(many=True)}, operation_id="vms_snapshots_list")
    @action(detail=True, methods=["get"], url_path="snapshots", filter_backends=[])
    def snapshots(self, request, pk=None):
        """The VM's snapshots, newest first (cursor-paginated like every list)."""
        vm = self.get_object()
        page = self.paginate_queryset(Snapshot.objects.filter(vm=vm))
        return self.get_paginated_response(SnapshotSerializer(page, many=True).data)

    @extend_schema(request=SnapshotCreateSerializer, responses={202: JobAccepted}, operation_id="vms_snapshots_create")
    @snapshots.mapping.post
    @idempotent
    def create_snapshot(self, request, pk=None):
        """Take a snapshot: 202 with the vm_snapshot_create job."""
        vm = self.get_object()
        data = self._valid(SnapshotCreateSerializer)
        job = snapshots.create_snapshot(vm, data["name"], description=data["description"], **self._who(request))
        return accepted(request, job)

    @extend_schema(request=None, responses={200: SnapshotSerializer}, operation_id="vms_snapshots_retrieve")
    @action(detail=True, methods=["get"], url_path=SNAPSHOT_ID)
    def snapshot(self, request, pk=None, snapshot_id=None):
        """One snapshot of the VM."""
        vm = self.get_object()
        return Response(SnapshotSerializer(snapshots.snapshot_of(vm, int(snapshot_id))).data)

    @extend_schema(request=None, responses={202: JobAccepted}, operation_id="vms_snapshots_destroy")
    @snapshot.mapping.delete
    @idempotent
    def delete_snapshot(self, request, pk=None, snapshot_id=None):
        """Delete a snapshot (its layer merged into the one below): 202 with the vm_snapshot_delete job."""
        vm = self.get_object()
        job = snapshots.delete_snapshot(vm, int(snapshot_id), **self._who(request))
        return accepted(request, job)

    @extend_schema(request=SnapshotRevertSerializer, responses={202: JobAccepted}, operation_id="vms_snapshots_revert")
    @action(detail=True, methods=["post"], url_path=SNAPSHOT_ID + "/revert")
    @idempotent
    def revert_snapshot(self, request, pk=None, snapshot_id=None):
        """Revert to a snapshot (`confirm`: true): 202 with the vm_snapshot_revert job."""
        vm = self.get_object()
        data = self._valid(SnapshotRevertSerializer)
        job = snapshots.revert_snapshot(vm, int(snapshot_id), confirm=data["confirm"], **self._who(request))
        return accepted(request, job)

    def _who(self, request):
        return {"actor": request.user, "request_id": self.request_id}
