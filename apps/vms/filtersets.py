"""The VM list's filters, one FilterSet for the API (/api/v1/vms/) and the web UI's VM list:
power state, status, host, owner, image, name, warm pool standbys, and `q` (what the UI's
search box sends: name, host name, an address, or a UUID prefix of 8 characters or more).
The queryset given is already scoped to what the caller may see; sorting is the caller's
business."""

import django_filters
from django.db.models import Q

from apps.core.filtersets import BaseFilterSet, IdFilter, StrictBooleanFilter
from apps.vms.models import PowerState, VirtualMachine, VmStatus

# A UUID prefix shorter than this matches too many VMs by chance to be meant as one.
UUID_PREFIX_MIN = 8


class VmFilterSet(BaseFilterSet):
    state = django_filters.ChoiceFilter(field_name="power_state", choices=PowerState.choices)
    status = django_filters.ChoiceFilter(choices=VmStatus.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")
    # Plain ids: anything outside the caller's scope simply matches nothing.
    host = IdFilter()
    owner = IdFilter()
    image = IdFilter()
    q = django_filters.CharFilter(method="search", label="Name, host name, address or UUID prefix")
    # Staff see warm pools' standbys among the VMs (docs/warm-pool.md); nobody else has any.
    standby = StrictBooleanFilter(
        field_name="standby_of",
        lookup_expr="isnull",
        exclude=True,
        label="Warm pool standbys: true, only them; false, none of them",
    )

    class Meta:
        model = VirtualMachine
        fields = ["state", "status", "host", "owner", "image", "name", "q", "standby"]

    def search(self, queryset, name, value):
        text = value.strip()
        if not text:
            return queryset
        match = Q(name__icontains=text) | Q(hostname__icontains=text) | Q(ip_addresses__icontains=text)
        if len(text) >= UUID_PREFIX_MIN:
            match |= Q(uuid__startswith=text.lower())
        return queryset.filter(match)
