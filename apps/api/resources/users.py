"""/api/v1/users/: staff manage everyone; a reseller creates, blocks, unblocks and deletes
its own customers; a customer sees itself. /api/v1/me/ is the caller."""

import copy

from django.contrib.auth.password_validation import validate_password
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.accounts.filtersets import UserFilterSet
from apps.accounts.models import Role, User
from apps.accounts.tenancy import is_staff_user, visible_users
from apps.api.base import ApiViewMixin, ApiViewSet
from apps.api.idempotency import idempotent
from apps.api.permissions import manages


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=False, min_length=10, max_length=128)
    is_blocked = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "first_name", "last_name", "role", "reseller", "is_active", "is_blocked",
            "date_joined", "password",
        ]  # fmt: skip
        read_only_fields = ["is_active", "date_joined"]
        extra_kwargs = {"reseller": {"required": False, "queryset": User.objects.filter(role=Role.RESELLER)}}

    def validate(self, attrs):
        user = self.context["request"].user
        if not is_staff_user(user):
            # A reseller's new users are its customers; nobody but staff picks role or reseller.
            if self.instance is None:
                now = {"role": Role.CUSTOMER, "reseller": user.pk}
            else:
                now = {"role": self.instance.role, "reseller": self.instance.reseller_id}
            for field, value in now.items():
                if field in attrs and getattr(attrs[field], "pk", attrs[field]) != value:
                    raise serializers.ValidationError({field: "Only staff may set this."}, code="forbidden")
            if self.instance is None:
                attrs["role"], attrs["reseller"] = Role.CUSTOMER, user
        if "password" in attrs:
            validate_password(attrs["password"])
        candidate = copy.copy(self.instance) if self.instance is not None else User()
        for key, value in attrs.items():
            if key != "password":
                setattr(candidate, key, value)
        candidate.clean()
        return attrs

    def create(self, validated_data):
        password = validated_data.pop("password", None)
        user = User(**validated_data)
        user.set_password(password) if password else user.set_unusable_password()
        user.save()
        return user

    def update(self, instance, validated_data):
        password = validated_data.pop("password", None)
        if password:
            instance.set_password(password)
        return super().update(instance, validated_data)


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

    def _managed(self):
        """The addressed user, if the caller may administer it (404 if unseen, 403 if not managed)."""
        other = self.get_object()
        if not manages(self.request.user, other):
            raise PermissionDenied("You may not change this user.")
        return other

    @idempotent
    def create(self, request):
        if not (is_staff_user(request.user) or request.user.role == Role.RESELLER):
            raise PermissionDenied("Only staff and resellers create users.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        if serializer.instance.pk != self.request.user.pk:
            self._managed()
        serializer.save()

    def perform_destroy(self, instance):
        self._managed()
        instance.delete()

    @extend_schema(request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def block(self, request, pk=None):
        """Block the user: its sessions and tokens stop working at their next request."""
        return self._set_active(False)

    @extend_schema(request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def unblock(self, request, pk=None):
        return self._set_active(True)

    def _set_active(self, active):
        other = self._managed()
        other.is_active = active
        other.save(update_fields=["is_active"])
        return Response(self.get_serializer(other).data)


class MeView(ApiViewMixin, generics.GenericAPIView):
    """/api/v1/me/: the caller."""

    serializer_class = UserSerializer
    queryset = User.objects.none()

    def get(self, request):
        return Response(UserSerializer(request.user, context=self.get_serializer_context()).data)
