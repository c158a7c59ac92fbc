"""/api/v1/clusters/: groups of hosts with one setup and one baseline guest CPU
(docs/clusters.md), for staff only. Adding, renaming and deleting a cluster, and computing
its baseline again, go through apps.hosts.clusters (the web UI's pages call the same
functions). A host joins a cluster through its own `cluster` field (/api/v1/hosts/)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.api.base import ApiViewSet, JobStartedSerializer, accepted
from apps.api.fields import StrictModelSerializer
from apps.api.idempotency import idempotent
from apps.api.permissions import IsStaff
from apps.hosts import clusters
from apps.hosts.models import Cluster

READ_ONLY = [
    "domain_type",
    "network",
    "storage_path",
    "hosts",
    "cpu_model",
    "cpu_xml",
    "cpu_note",
    "cpu_computed_at",
    "created_at",
    "updated_at",
]


class ClusterSerializer(StrictModelSerializer):
    """A cluster: staff set its name and description; its setup is its first host's, its
    baseline CPU (`cpu_xml`, empty while none is computed) the `cluster_baseline` job's."""

    hosts = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="The ids of its hosts.")

    class Meta:
        model = Cluster
        fields = ["id", "name", "description", *READ_ONLY]
        read_only_fields = READ_ONLY
        # The service reports a taken name, the same way to both doors.
        extra_kwargs = {"name": {"min_length": 1, "validators": []}}


class ClusterViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ApiViewSet,
):
    """Clusters: list, read, add, rename, delete (only an empty one), compute the baseline."""

    queryset = Cluster.objects.prefetch_related("hosts")
    serializer_class = ClusterSerializer
    permission_classes = ApiViewSet.permission_classes + [IsStaff]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @idempotent
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cluster = clusters.add_cluster(request.user, **serializer.validated_data)
        return Response(self.get_serializer(cluster).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        cluster = self.get_object()
        serializer = self.get_serializer(cluster, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        cluster = clusters.update_cluster(request.user, cluster, **serializer.validated_data)
        return Response(self.get_serializer(cluster).data)

    def destroy(self, request, pk=None):
        """Delete the cluster; one with hosts is refused (400 on `cluster`)."""
        clusters.delete_cluster(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: JobStartedSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def baseline(self, request, pk=None):
        """Compute the cluster's baseline CPU again: 202 with the cluster_baseline job."""
        job = clusters.compute_baseline_now(request.user, self.get_object(), request_id=self.request_id)
        return accepted(request, job)
