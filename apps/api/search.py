"""The lists' `search` parameter: DRF's SearchFilter, with its one refusal (a NUL character,
which PostgreSQL cannot hold in text) named after the parameter and declared in the schema,
as for every text filter (apps.core.filtersets)."""

from rest_framework import serializers
from rest_framework.filters import SearchFilter as DrfSearchFilter

from apps.core.filtersets import NO_NUL


class SearchFilter(DrfSearchFilter):
    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({self.search_param: exc.detail}) from exc

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["pattern"] = NO_NUL
        return parameters
