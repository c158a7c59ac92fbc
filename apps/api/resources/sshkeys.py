"""/api/v1/ssh-keys/: each user's saved SSH public keys (staff and resellers see their
users' keys through the tenancy selectors). The rules: apps.accounts.services.sshkeys."""

from rest_framework import viewsets

from apps.accounts.filtersets import SshKeyFilterSet
from apps.accounts.services import sshkeys as service
from apps.accounts.sshkeys import SshKey
from apps.accounts.tenancy import owners_q
from apps.api.base import ApiViewMixin
from apps.api.fields import StrictModelSerializer


class SshKeySerializer(StrictModelSerializer):
    class Meta:
        model = SshKey
        fields = ["id", "owner", "name", "public_key", "fingerprint", "created_at"]
        read_only_fields = ["owner", "fingerprint", "created_at"]
        extra_kwargs = {"name": {"min_length": 1}, "public_key": {"max_length": service.PUBLIC_KEY_MAX_LENGTH}}

    def create(self, validated_data):
        return service.add_ssh_key(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return service.update_ssh_key(actor=self.context["request"].user, key=instance, **validated_data)


class SshKeyViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = SshKeySerializer
    filterset_class = SshKeyFilterSet
    search_fields = ["name", "fingerprint"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    queryset = SshKey.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return SshKey.objects.filter(owners_q(self.request.user))

    def perform_destroy(self, instance):
        service.delete_ssh_key(actor=self.request.user, key=instance)
