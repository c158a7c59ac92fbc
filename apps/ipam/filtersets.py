"""The address list's filters (API and UI): by VM, pool, reserved flag."""

from apps.core.filtersets import BaseFilterSet
from apps.ipam.models import Address, Pool


class AddressFilterSet(BaseFilterSet):
    class Meta:
        model = Address
        fields = ["vm", "pool", "reserved"]


class PoolFilterSet(BaseFilterSet):
    class Meta:
        model = Pool
        fields = ["network"]
