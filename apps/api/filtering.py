"""The lists' filter backend: django-filter's, skipping its FilterSet when the request gives
none of its parameters.

Building a FilterSet costs every list request about half a millisecond (django-filter
deep-copies the filters, makes a form class and a bound form and cleans every field), which
for the VM list was the largest Python item left beside the queries (bench/api.py, docs/api.md
"Performance"). With none of the filters' parameters in the query every field is empty and
every filter leaves the queryset as it is, so the answer is the same without building it.
Which parameters a FilterSet reads is asked of its form's widgets
(`Widget.value_omitted_from_data`, which knows a range widget's `_min`/`_max` names), from
one unbound form per FilterSet class; a given parameter, even empty or invalid, goes through
the FilterSet as before (a value that is not valid is still 400 naming it)."""

import functools

from django_filters.rest_framework import DjangoFilterBackend


@functools.cache
def _widgets(filterset_class):
    """(the query parameter's name, its widget) for each filter of `filterset_class`."""
    form = filterset_class(queryset=filterset_class._meta.model._default_manager.none()).form
    return tuple((form.add_prefix(name), field.widget) for name, field in form.fields.items())


def asks_to_filter(filterset_class, query):
    """Whether `query` (a QueryDict) gives any parameter the FilterSet reads."""
    return any(not widget.value_omitted_from_data(query, {}, name) for name, widget in _widgets(filterset_class))


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not asks_to_filter(filterset_class, request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)
