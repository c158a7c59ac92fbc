"""/api/v1/users/: staff manage everyone; a reseller creates, renames, blocks, unblocks and
deletes its own customers; everyone changes its own name, e-mail and password; a customer
sees itself. /api/v1/me/ is the caller. The rules: apps.accounts.services.users."""

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.functional import lazy
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.filtersets import UserFilterSet
from apps.accounts.models import Role, User
from apps.accounts.services import users as service
from apps.accounts.tenancy import visible_users
from apps.api.base import ApiViewMixin, ApiViewSet
from apps.api.fields import StrictCharField, StrictModelSerializer
from apps.api.idempotency import idempotent

PASSWORD_LENGTH = lazy(service.password_length_message, str)()


class UserSerializer(StrictModelSerializer):
    password = StrictCharField(
        write_only=True,
        required=False,
        min_length=service.PASSWORD_MIN_LENGTH,
        max_length=service.PASSWORD_MAX_LENGTH,
        # The service's words, so that both doors refuse a short password alike.
        error_messages={"min_length": PASSWORD_LENGTH, "max_length": PASSWORD_LENGTH},
    )
    is_blocked = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "first_name", "last_name", "role", "reseller", "is_active", "is_blocked",
            "date_joined", "password",
        ]  # fmt: skip
        read_only_fields = ["is_active", "date_joined"]
        extra_kwargs = {
            "reseller": {"required": False, "queryset": User.objects.filter(role=Role.RESELLER)},
            # The shape only: whether the name is free is the service's to say (by the insert).
            "username": {"validators": [UnicodeUsernameValidator()]},
        }

    def create(self, validated_data):
        return service.create_user(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return service.update_user(actor=self.context["request"].user, user=instance, **validated_data)


class UserViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, ApiViewSet
):
    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    search_fields = ["username", "email"]
    ordering_fields = ["username", "date_joined", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    queryset = User.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return visible_users(self.request.user).select_related("reseller")

    @idempotent
    def create(self, request):
        service.check_may_create_users(request.user)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        service.delete_user(actor=self.request.user, user=instance)

    @extend_schema(request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def block(self, request, pk=None):
        """Block the user: its sessions and tokens stop working at their next request."""
        user = service.block_user(actor=request.user, user=self.get_object())
        return Response(self.get_serializer(user).data)

    @extend_schema(request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def unblock(self, request, pk=None):
        user = service.unblock_user(actor=request.user, user=self.get_object())
        return Response(self.get_serializer(user).data)


class MeView(ApiViewMixin, generics.GenericAPIView):
    """/api/v1/me/: the caller."""

    serializer_class = UserSerializer
    queryset = User.objects.none()

    def get(self, request):
        return Response(UserSerializer(request.user, context=self.get_serializer_context()).data)
