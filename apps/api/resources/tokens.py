"""/api/v1/tokens/: the caller's own API tokens. The secret is in the create answer only.
The rules: apps.accounts.services.tokens."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.accounts.filtersets import TokenFilterSet
from apps.accounts.services.tokens import NAME_MAX_LENGTH, issue_token, revoke_token
from apps.accounts.tokens import ApiToken
from apps.api.base import ApiViewSet
from apps.api.fields import StrictModelSerializer


class TokenSerializer(StrictModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "read_only", "created_at", "last_used_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at"]
        extra_kwargs = {"name": {"min_length": 1, "max_length": NAME_MAX_LENGTH}}


class IssuedTokenSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret: shown once, store it now.")

    class Meta(TokenSerializer.Meta):
        fields = TokenSerializer.Meta.fields + ["token"]


class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ApiViewSet):
    """List, create and revoke (DELETE) your API tokens."""

    serializer_class = TokenSerializer
    ordering_fields = ["name", "created_at", "last_used_at"]
    filterset_class = TokenFilterSet
    search_fields = ["name"]

    queryset = ApiToken.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(request=TokenSerializer, responses={201: IssuedTokenSerializer})
    def create(self, request):
        serializer = TokenSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        token, raw = issue_token(actor=request.user, **serializer.validated_data)
        token.token = raw
        return Response(IssuedTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        revoke_token(actor=self.request.user, token=instance)
