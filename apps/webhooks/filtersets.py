"""The delivery log's filters (API): by endpoint id and status. The queryset given is
already what the caller may see; an endpoint id outside it matches nothing."""

from apps.core.filtersets import BaseFilterSet
from apps.webhooks.models import Delivery


class DeliveryFilterSet(BaseFilterSet):
    class Meta:
        model = Delivery
        fields = ["endpoint", "status"]
