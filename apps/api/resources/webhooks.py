"""/api/v1/webhooks/ (endpoints: staff and resellers register their own) and
/api/v1/webhook-deliveries/ (the delivery log, with `resend`). The rules:
apps.webhooks.services; signatures and retries: docs/webhooks.md."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.api.base import ApiViewSet
from apps.api.fields import StrictCharField, StrictModelSerializer
from apps.api.idempotency import idempotent
from apps.webhooks import services
from apps.webhooks.filtersets import DeliveryFilterSet
from apps.webhooks.models import Delivery, Endpoint


class EndpointSerializer(StrictModelSerializer):
    url = StrictCharField(max_length=2000)
    events = serializers.ListField(child=StrictCharField(max_length=40), max_length=50)
    secret = serializers.CharField(read_only=True, help_text="Signs every delivery (docs/webhooks.md).")

    class Meta:
        model = Endpoint
        fields = ["id", "owner", "url", "description", "events", "is_active", "secret", "created_at"]
        read_only_fields = ["owner", "secret", "created_at"]
        extra_kwargs = {"description": {"max_length": 2000, "required": False}}

    def create(self, validated_data):
        return services.create_endpoint(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.update_endpoint(instance, actor=self.context["request"].user, **validated_data)


class DeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type", read_only=True)
    event_id = serializers.UUIDField(source="event.id", read_only=True)
    payload = serializers.JSONField(source="event_payload", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "endpoint", "event_id", "event_type", "payload", "status", "attempts", "response_code",
            "response_excerpt", "error", "next_try_at", "resent_from", "created_at", "delivered_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Webhook endpoints: the caller's own (staff: everyone's)."""

    serializer_class = EndpointSerializer
    ordering_fields = ["id", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = Endpoint.objects.none()

    def get_queryset(self):
        return services.visible_endpoints(self.request.user)

    @idempotent
    def create(self, request):
        services.check_may_have_endpoints(request.user)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.delete_endpoint(instance, actor=self.request.user)


class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The delivery log: each event sent to each endpoint, its attempts and last answer.
    Filter by `endpoint`, `status`."""

    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilterSet
    ordering_fields = ["id", "created_at"]
    queryset = Delivery.objects.none()

    def get_queryset(self):
        return services.visible_deliveries(self.request.user)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def resend(self, request, pk=None):
        """Send the event to the endpoint again now, as a new delivery in the log."""
        again = services.resend(self.get_object(), actor=request.user)
        return Response(self.get_serializer(again).data, status=status.HTTP_202_ACCEPTED)
