"""/api/v1/users/: staff manage everyone; a reseller creates, renames, blocks, unblocks and
deletes its own customers; everyone changes its own name, e-mail and password; a customer
sees itself. /api/v1/me/ is the caller. The rules: apps.accounts.services.users."""

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.functional import lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.filtersets import UserFilterSet
from apps.accounts.models import Role, User
from apps.accounts.services import two_factor
from apps.accounts.services import users as service
from apps.accounts.tenancy import visible_users
from apps.api.base import ApiViewMixin, ApiViewSet, accepted
from apps.api.fields import StrictCharField, StrictModelSerializer
from apps.api.idempotency import idempotent
from apps.api.resources.vm_inputs import SuspendSerializer
from apps.vms import suspension

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
            "date_joined", "password", "language", "email_notices", "suspend_mode", "suspended_at",
            "suspension_reason", "terminate_at",
        ]  # fmt: skip
        read_only_fields = ["is_active", "date_joined", "suspended_at", "suspension_reason", "terminate_at"]
        extra_kwargs = {
            "reseller": {"required": False, "queryset": User.objects.filter(role=Role.RESELLER)},
            # The shape only: whether the name is free is the service's to say (by the insert).
            "username": {"validators": [UnicodeUsernameValidator()]},
        }

    def create(self, validated_data):
        return service.create_user(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return service.update_user(actor=self.context["request"].user, user=instance, **validated_data)


UserSuspension = inline_serializer(
    "UserSuspension", {"user": UserSerializer(), "job": serializers.DictField(allow_null=True)}
)


class UserSuspensionActions:
    """Suspension for non-payment of a customer (docs/billing.md): staff or its reseller."""

    def _answer(self, request, pk, job):
        data = self.get_serializer(self.get_queryset().get(pk=pk)).data
        return accepted(request, job, user=data) if job else Response({"user": data, "job": None})

    @extend_schema(request=SuspendSerializer, responses={200: UserSuspension, 202: UserSuspension})
    @action(detail=True, methods=["post"])
    @idempotent
    def suspend(self, request, pk=None):
        """Suspend the customer and its VMs: 202 with the job taking them down; 200 without a
        job if it already is suspended."""
        user = self.get_object()
        data = SuspendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = suspension.suspend_customer(user, **data.validated_data, actor=request.user, request_id=self.request_id)
        return self._answer(request, user.pk, job)

    @extend_schema(request=None, responses={200: UserSuspension, 202: UserSuspension})
    @action(detail=True, methods=["post"])
    @idempotent
    def unsuspend(self, request, pk=None):
        """Lift the customer's suspension (and a pending termination): 202 with the job
        bringing back its VMs' power states; 200 without a job if it is not suspended."""
        user = self.get_object()
        job = suspension.unsuspend_customer(user, actor=request.user, request_id=self.request_id)
        return self._answer(request, user.pk, job)

    @extend_schema(request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def terminate(self, request, pk=None):
        """Delete the suspended customer's VMs once VMM_TERMINATE_GRACE_HOURS have passed
        (`terminate_at`); unsuspending cancels it. Asking again keeps the first time."""
        user = self.get_object()
        suspension.terminate_customer(user, actor=request.user, request_id=self.request_id)
        return Response(self.get_serializer(self.get_queryset().get(pk=user.pk)).data)


class UserViewSet(
    UserSuspensionActions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
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

    @extend_schema(
        request=None,
        responses={200: inline_serializer("TwoFactorReset", {"had_two_factor": serializers.BooleanField()})},
    )
    @action(detail=True, methods=["post"], url_path="reset-two-factor")
    def reset_two_factor(self, request, pk=None):
        """Staff remove the user's lost authenticator and backup codes (a lost phone): it signs
        in with its password alone and enrols again where that is required. Audited."""
        had = two_factor.reset_two_factor(actor=request.user, user=self.get_object())
        return Response({"had_two_factor": had})


class MeView(ApiViewMixin, generics.GenericAPIView):
    """/api/v1/me/: the caller."""

    serializer_class = UserSerializer
    queryset = User.objects.none()

    def get(self, request):
        return Response(UserSerializer(request.user, context=self.get_serializer_context()).data)
