"""/api/v1/ssh-keys/: each user's saved SSH public keys (staff and resellers see their
users' keys through the tenancy selectors; each user manages its own)."""

from rest_framework import serializers, viewsets

from apps.accounts.filtersets import SshKeyFilterSet
from apps.accounts.sshkeys import SshKey
from apps.accounts.tenancy import owners_q
from apps.api.base import ApiViewMixin


class SshKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SshKey
        fields = ["id", "owner", "name", "public_key", "fingerprint", "created_at"]
        read_only_fields = ["owner", "fingerprint", "created_at"]
        extra_kwargs = {"name": {"min_length": 1}, "public_key": {"max_length": 16384}}

    def validate(self, attrs):
        owner = self.instance.owner if self.instance else self.context["request"].user
        key = SshKey(owner=owner, **{**self._current(), **attrs})
        key.full_clean(exclude=["owner"], validate_unique=False, validate_constraints=False)
        others = SshKey.objects.filter(owner=owner).exclude(pk=getattr(self.instance, "pk", None))
        if "name" in attrs and others.filter(name=key.name).exists():
            raise serializers.ValidationError({"name": "You already have a key with this name."}, code="unique")
        if others.filter(fingerprint=key.fingerprint).exists():
            raise serializers.ValidationError({"public_key": "You already saved this key."}, code="unique")
        return {**attrs, "public_key": key.public_key, "fingerprint": key.fingerprint}

    def _current(self):
        if self.instance is None:
            return {}
        return {"name": self.instance.name, "public_key": self.instance.public_key}


class SshKeyViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = SshKeySerializer
    filterset_class = SshKeyFilterSet
    search_fields = ["name", "fingerprint"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    queryset = SshKey.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return SshKey.objects.filter(owners_q(self.request.user))

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)
