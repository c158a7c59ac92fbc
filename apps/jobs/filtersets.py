"""The job list's filters (API and UI): status, operation (`kind`), request id, and the
id of the VM a job ran on. The queryset given is already what the caller may see."""

import django_filters

from apps.core.filtersets import BaseFilterSet, IdFilter
from apps.jobs.models import Job, JobStatus


class JobFilterSet(BaseFilterSet):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)
    vm = IdFilter(method="filter_vm", label="Jobs on this VM (id)")

    class Meta:
        model = Job
        fields = ["status", "kind", "request_id", "vm"]

    def filter_vm(self, queryset, name, value):
        # By app label and model name: the job core does not import the VM app.
        return queryset.filter(target_type__app_label="vms", target_type__model="virtualmachine", target_id=value)
